import { z } from "zod";
import { InstanceId, ModelName } from "./ids.js";

/** The life of an instance; every change is an event with its reason. */
export const InstanceState = z.enum(["PLANNED", "STARTING", "LOADING", "READY", "FAILED", "STOPPING"]);
export type InstanceState = z.infer<typeof InstanceState>;

/** What the user asked for: survives restarts of the node. */
export const InstanceSpec = z.object({
  id: InstanceId,
  model: ModelName,
  /** Context size in tokens for all slots together (llama-server `-c`). */
  contextSize: z.number().int().positive(),
  /** Parallel sequences (llama-server `-np`). */
  parallel: z.number().int().positive(),
  /** Serve `/v1/embeddings` (llama-server `--embeddings`). */
  embeddings: z.boolean(),
  /** CPU threads for the engine; undefined lets llama.cpp choose. */
  threads: z.number().int().positive().optional(),
  /** A smaller model of the same vocabulary that drafts tokens for speculative decoding, on the head. */
  draft: ModelName.optional(),
  /** Most tokens the draft proposes at a time (llama-server `--spec-draft-n-max`). */
  draftMax: z.number().int().positive().optional(),
  createdAt: z.string(),
});
export type InstanceSpec = z.infer<typeof InstanceSpec>;

/** An instance as it is now. */
export const InstanceStatus = InstanceSpec.extend({
  state: InstanceState,
  /** Why it entered its current state, for people. */
  reason: z.string(),
  since: z.string(),
  restarts: z.number().int().nonnegative(),
  /** Loopback port of its llama-server while one runs. */
  enginePort: z.number().int().positive().optional(),
  enginePid: z.number().int().positive().optional(),
  /** Engine flags herd added to work around this machine (e.g. `--no-repack`). */
  workarounds: z.array(z.string()),
});
export type InstanceStatus = z.infer<typeof InstanceStatus>;
