import { z } from "zod";
import { RpcTransport } from "./instance-plan.js";
import { ModelRoute, Upstream } from "./upstream.js";

/** `POST /herd/v1/models/import`: register a GGUF file that is on the node's disk. */
export const ImportModelRequest = z.strictObject({
  path: z.string().min(1),
  name: z.string().min(1).optional(),
  copy: z.boolean().optional(),
});
export type ImportModelRequest = z.infer<typeof ImportModelRequest>;

/** `POST /herd/v1/models/synth`: write a model of a chosen shape with random weights. */
export const SynthModelRequest = z.strictObject({
  name: z.string().min(1),
  layers: z.number().int().min(1).max(512),
  embedding: z.number().int().min(32).max(65_536),
  feedForward: z.number().int().min(32).max(262_144),
  heads: z.number().int().min(1).max(512),
  kvHeads: z.number().int().min(1).max(512),
  type: z.enum(["f16", "q8_0", "q4_0"]),
  /** The training context (`llama.context_length`), which caps what llama-server gives one slot. */
  contextLength: z.number().int().min(64).max(1_048_576).default(2048),
  /**
   * llama.cpp's vocabulary to copy: `llama-spm` (32K tokens), `llama-bpe` (Llama 3's 128K, about
   * as many tokens per text as the hosted models' tokenizers) or `starcoder` (49K, with fill-in-the-middle tokens).
   */
  vocabulary: z.enum(["llama-spm", "llama-bpe", "starcoder"]).default("llama-spm"),
  seed: z.number().int().nonnegative().default(1),
  /** Scales what each block adds to the residual stream; below 1, depths of one seed predict alike (draft models). */
  blockScale: z.number().positive().max(1).optional(),
});
export type SynthModelRequest = z.input<typeof SynthModelRequest>;

/** `POST /herd/v1/instances`: load a model (and `POST /herd/v1/plans`: only plan it). */
export const LoadModelRequest = z.strictObject({
  model: z.string().min(1),
  contextSize: z.number().int().min(16).max(16_777_216).optional(),
  parallel: z.number().int().min(1).max(256).optional(),
  embeddings: z.boolean().optional(),
  threads: z.number().int().min(1).max(1024).optional(),
  /** `auto`: direct over a private cable, the tunnel elsewhere; `direct`: no tunnel at all (trusted fabrics only). Default `auto`. */
  rpcTransport: RpcTransport.optional(),
  /** How to split across nodes. Default `auto`. */
  split: z.enum(["auto", "layer", "tensor"]).optional(),
  /** Use only these nodes (names or ids). */
  nodes: z.array(z.string().min(1)).max(256).optional(),
  /** Never use these nodes (names or ids). */
  avoid: z.array(z.string().min(1)).max(256).optional(),
  minNodes: z.number().int().min(1).max(256).optional(),
  maxNodes: z.number().int().min(1).max(256).optional(),
  /** Instances on disjoint nodes; `auto`: as many as fit. Default 1. */
  replicas: z.union([z.number().int().min(1).max(256), z.literal("auto")]).optional(),
  /** A smaller model of the same vocabulary that drafts tokens (speculative decoding). */
  draft: z.string().min(1).optional(),
  /** Most tokens the draft proposes at a time. */
  draftMax: z.number().int().min(1).max(64).optional(),
});
export type LoadModelRequest = z.infer<typeof LoadModelRequest>;

/**
 * `POST /herd/v1/models/pull`: fetch a model from a Hugging Face compatible hub. `ref` is
 * `owner/repo`, `owner/repo:QUANT` (a quantization tag such as Q4_K_M picks the file) or
 * `owner/repo/FILE.gguf`.
 */
export const PullModelRequest = z.strictObject({
  ref: z.string().min(1),
  /** The name to register it under; default derived from the repository and quantization. */
  name: z.string().min(1).optional(),
  /** Never touch the network: succeed only if the model is already here. Default false. */
  offline: z.boolean().optional(),
});
export type PullModelRequest = z.infer<typeof PullModelRequest>;

/** Progress of a pull, reported as it goes (CLI bar, dashboard, Ollama's `/api/pull` lines). */
export interface PullProgress {
  phase: "resolving" | "downloading" | "verifying" | "registering" | "done";
  /** The file being fetched or checked (a repository path). */
  file?: string;
  /** `sha256:<hex>` of that file, when the hub gives it. */
  digest?: string;
  /** Bytes of all the pull's files present so far, and in all. */
  completed: number;
  total: number;
  bytesPerSecond?: number;
}

/** One line of a long operation's NDJSON progress stream (a pull's lines carry its phase, file and speed). */
export type ProgressLine =
  | ({ type: "progress"; completed: number; total: number } & Partial<
      Omit<PullProgress, "completed" | "total">
    >)
  | { type: "done"; result: unknown }
  | { type: "error"; error: { message: string; type: string; code: string; status?: number } };

/**
 * `POST /herd/v1/models/fit`: which models fit the cluster as it is now. `model` is a local model's
 * name or a hub reference (every quantization of the repository, or the one named); absent: every
 * local model. The placement fields are those of a load.
 */
export const FitModelsRequest = LoadModelRequest.extend({ model: z.string().min(1).optional() });
export type FitModelsRequest = z.infer<typeof FitModelsRequest>;

/** One model (or one quantization of a hub repository) and whether and how it would run. */
export interface FitCandidate {
  /** The local model's name, or the name a pull would register. */
  name: string;
  origin: "local" | "hub";
  /** The hub reference that pulls it (`owner/repo:QUANT`), for hub candidates. */
  ref?: string;
  quantization: string;
  sizeBytes: number;
  fits: boolean;
  /** Nodes the planner would use, and their names. */
  nodeCount: number;
  nodes: string[];
  head?: string;
  splitMode?: string;
  predictedDecodeTokensPerSecond?: number;
  predictedPrefillTokensPerSecond?: number;
  /** Why it does not fit, or the planner's headline reason. */
  reason: string;
}

/** The answer of `POST /herd/v1/models/fit`: best first (fits, then faster, then bigger). */
export interface FitReport {
  candidates: FitCandidate[];
}

/** `POST /herd/v1/upstreams`: register an external service (replaces one of the same name). */
export const AddUpstreamRequest = Upstream.omit({ addedAt: true }).extend({
  /** Sets this route for every model the upstream lists (default: leave their routes as they are). */
  route: ModelRoute.optional(),
});
export type AddUpstreamRequest = z.input<typeof AddUpstreamRequest>;

/** `GET /herd/v1/upstreams`: the cluster's upstreams (and whether this node has each key) and routes. */
export interface UpstreamListing {
  upstreams: Array<Upstream & { keyPresent: boolean }>;
  routes: Record<string, ModelRoute>;
}

/** `PUT /herd/v1/routes/:model`: where the model's requests may go (null: back to the default). */
export const SetRouteRequest = z.strictObject({ route: ModelRoute.nullable() });
export type SetRouteRequest = z.infer<typeof SetRouteRequest>;

/** `POST /herd/v1/.../drain`: whether to answer only once the instances are unloaded. Default true. */
export const DrainRequest = z.strictObject({ wait: z.boolean().optional() });

/** `POST /herd/v1/models/verify`: re-hash stored models (all when `models` is absent) on this node or `node`. */
export const VerifyModelsRequest = z.strictObject({
  models: z.array(z.string().min(1).max(128)).max(4096).optional(),
  /** Another node of the cluster (name or id), asked over the cluster channel. */
  node: z.string().min(1).max(128).optional(),
});
export type VerifyModelsRequest = z.infer<typeof VerifyModelsRequest>;

/** How far a verification got: bytes hashed of all the models' files. */
export interface VerifyProgress {
  model: string;
  file: string;
  completed: number;
  total: number;
}

/** One model's outcome: `recorded` when no checksum was kept before and one is now. */
export interface ModelVerification {
  model: string;
  state: "verified" | "corrupt" | "recorded";
  /** What differs, for a corrupt model. */
  problem?: string;
  bytes: number;
  seconds: number;
}

/** The answer of a verification: the node that hashed, and each model's outcome. */
export interface VerifyReport {
  node: string;
  results: ModelVerification[];
}

/** `POST /herd/v1/node/stop`: stop this node, or `node`; with `drain`, after moving its instances elsewhere. */
export const StopNodeRequest = z.strictObject({
  drain: z.boolean().optional(),
  node: z.string().min(1).max(128).optional(),
});
export type StopNodeRequest = z.infer<typeof StopNodeRequest>;

/** The answer of a stop: the node that is stopping, and the instances its drain moved. */
export interface StopReport {
  node: string;
  moved: Array<{ model: string; from: string; to: string; head: string }>;
}
