import { z } from "zod";
import { InstanceId, ModelName } from "./ids.js";
import { InstancePlan } from "./instance-plan.js";

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

/**
 * How busy an instance is, sampled by its head from the engine's counters: slots in use now, and
 * tokens generated per second over each sample interval of the last few minutes.
 */
export const InstanceStats = z.object({
  slotsInUse: z.number().int().nonnegative(),
  slots: z.number().int().positive(),
  /** Requests waiting for a free slot. */
  queued: z.number().int().nonnegative(),
  /** Generated tokens per second over the latest interval. */
  tokensPerSecond: z.number().nonnegative(),
  /** Tokens generated since the engine started. */
  tokensGenerated: z.number().nonnegative(),
  sampleIntervalMs: z.number().int().positive(),
  /** Tokens per second, one value per interval, oldest first. */
  recentTokensPerSecond: z.array(z.number().nonnegative()).max(600),
  sampledAt: z.string().max(40),
  /**
   * The requests that finished in the latest interval: tokens generated and the seconds the engine
   * spent generating them, so tokens ÷ seconds is one stream's decode speed (what a plan predicts).
   */
  decode: z.object({ tokens: z.number().nonnegative(), seconds: z.number().positive() }).optional(),
});
export type InstanceStats = z.infer<typeof InstanceStats>;

/** An instance as it is now. */
export const InstanceStatus = InstanceSpec.extend({
  state: InstanceState,
  /** Why it entered its current state, for people. */
  reason: z.string(),
  since: z.string(),
  restarts: z.number().int().nonnegative(),
  /** Restarts in the last hour, and why the engine last exited unasked. */
  restartsLastHour: z.number().int().nonnegative().optional(),
  lastExit: z.string().optional(),
  /** Loopback port of its llama-server while one runs. */
  enginePort: z.number().int().positive().optional(),
  enginePid: z.number().int().positive().optional(),
  /** Engine flags herd added to work around this machine (e.g. `--no-repack`). */
  workarounds: z.array(z.string()),
  /**
   * What the engine reported allocating while it loaded: the head's own memory (`rpcIndex` absent)
   * and each `--rpc` server's (its position in that list).
   */
  engineMemory: z
    .array(
      z.object({
        rpcIndex: z.number().int().nonnegative().optional(),
        weightBytes: z.number().nonnegative(),
        kvBytes: z.number().nonnegative(),
        computeBytes: z.number().nonnegative(),
      }),
    )
    .optional(),
  /** While READY: slots in use and tokens/s. */
  stats: InstanceStats.optional(),
  /** Where its layers run, for an instance placed by the cluster's planner. */
  plan: InstancePlan.optional(),
});
export type InstanceStatus = z.infer<typeof InstanceStatus>;
