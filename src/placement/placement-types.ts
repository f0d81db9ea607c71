import type { NodeCalibration } from "../protocol/calibration.js";
import type { LinkMeasurement } from "../protocol/cluster.js";
import type { Backend } from "../protocol/engine.js";
import type { NodeId } from "../protocol/ids.js";
import type { ModelProfile } from "../protocol/model-profile.js";

/** What the planner needs of a model: a `ModelProfile` is one. */
export type PlacementModel = Pick<
  ModelProfile,
  | "architecture"
  | "sizeBytes"
  | "layerCount"
  | "bytesPerLayer"
  | "nonLayerBytes"
  | "kvBytesPerToken"
  | "embeddingLength"
  | "expertCount"
  | "expertUsedCount"
  | "expertBytesPerLayer"
> &
  Partial<Pick<ModelProfile, "parameterCount" | "headCount" | "outputWeightBytes" | "feedForwardLength">> & {
    name: string;
    /** Tokens in the vocabulary (`ModelProfile.vocabulary.size`): the logits' size. */
    vocabularySize?: number;
  };

/** How to split a model over several nodes; `auto` lets the cost model choose. */
export type SplitRequest = "auto" | "layer" | "tensor";

export interface PlacementRequest {
  /** Tokens of context for all slots together (llama-server `-c`). */
  contextSize: number;
  /** Parallel slots (llama-server `-np`). */
  parallel: number;
  /** `layer` or `tensor` decide the mode of every multi-node candidate; one node always runs unsplit. */
  split: SplitRequest;
  /** Use only these nodes. */
  nodes?: NodeId[];
  /** Never use these nodes. */
  avoid?: NodeId[];
  /** Default 1. */
  minNodes?: number;
  /** Default: every usable node. */
  maxNodes?: number;
  /** Preferred head (e.g. the node that got the request), chosen among equally fast plans. */
  head?: NodeId;
  /** Only these nodes may head (the head needs the model file; RPC shards do not). Default: any. */
  allowedHeads?: NodeId[];
  /** A draft model for speculative decoding: the head holds all of it, with its own KV cache. */
  draft?: PlacementModel;
}

/** A machine as the planner sees it; `placementNodeFromProfile` builds one from a `NodeProfile`. */
export interface PlacementNode {
  id: NodeId;
  name: string;
  /** Memory herd may plan with (already under `--memory-limit`). */
  memoryAvailableBytes: number;
  /** Overrides the chip table. */
  memoryBandwidthBytesPerSecond?: number;
  /** Overrides the chip table (prefill estimate). */
  flopsPerSecond?: number;
  cpuModel?: string;
  cpuCores?: number;
  /** As in `NodeProfile.devices`: `{ name: "CUDA0", description: "NVIDIA GeForce RTX 4090 (24217 MiB, 23840 MiB free)" }`. */
  devices?: Array<{ name: string; description: string }>;
  /** The engine's backend; `cpu` (or no accelerator device) means llama.cpp computes on the CPU. */
  backend?: Backend | null;
  /**
   * The llama.cpp version its engine reports. Nodes of different versions are never in one split:
   * llama.cpp's RPC wire format changes between versions. Unknown: compatible with any.
   */
  engineVersion?: string;
  /** What it measured of itself and learnt from its instances (`NodeProfile.calibration`). */
  calibration?: NodeCalibration;
}

/**
 * How a head would reach a shard node, as the caller's choice of routes says (the planner knows no
 * interfaces): what the head's calibration keeps of it is looked up under `key`.
 */
export interface PlannedRoute {
  /** `rpcRouteKey` of the route: `tunnel`, or `direct` and the path's two addresses. */
  key: string;
  /** The measured figures of the path it takes, where they differ from the pair's best. */
  figures?: { rttSeconds: number; throughputBytesPerSecond: number };
  /** For reasons, as in "directly over 169.254.10.1 -> 169.254.10.2 (thunderbolt)". */
  description: string;
  /**
   * A direct route to the address the tunnel to the same node rides (the shard's channel address):
   * the tunnel's measured RPC round trip is the most this route's can be (the tunnel adds two
   * relays and TLS to the same path).
   */
  tunnelPath?: boolean;
}

export interface PlacementCluster {
  nodes: PlacementNode[];
  links: LinkMeasurement[];
  /** When the plan is made (ms since epoch), to age learnt corrections; absent: they count in full. */
  now?: number;
  /** The route a head would take to a shard node; absent: every shard through the tunnel. */
  routeOf?: (head: NodeId, shard: NodeId) => PlannedRoute;
}

export interface PlacementInput {
  model: PlacementModel;
  request: PlacementRequest;
  cluster: PlacementCluster;
}

export type SplitMode = "none" | "layer" | "tensor";

/**
 * Where one node's part runs: `local-cpu` and `local-accelerator` are the head's own llama-server,
 * `rpc` a ggml-rpc-server on that node.
 */
export type ShardBackend = "local-cpu" | "local-accelerator" | "rpc";

export interface Shard {
  node: NodeId;
  backend: ShardBackend;
  /** First block held. With tensor split every shard holds a slice of every block: 0..layerCount. */
  layerStart: number;
  /** One past the last block held. */
  layerEnd: number;
  /** Share of the blocks' weights held: blocks / layerCount, or the tensor-split proportion. */
  fraction: number;
  weightBytes: number;
  kvBytes: number;
  computeBytes: number;
  /** Weights + KV + compute + safety margin: never more than the node's available memory. */
  totalBytes: number;
}

export interface Prediction {
  decodeTokensPerSecond: number;
  prefillTokensPerSecond: number;
  /** Decode seconds per token reading weights (and the head's per-token overhead), and on the network. */
  computeSeconds?: number;
  networkSeconds?: number;
  /** What a measured decode is compared with to learn corrections (see `CostBreakdown`). */
  headSeconds?: number;
  uncorrectedHeadSeconds?: number;
  uncorrectedRemoteSeconds?: number;
}

export interface Plan {
  model: string;
  /** The node that runs llama-server. */
  head: NodeId;
  splitMode: SplitMode;
  /**
   * In llama.cpp's order of layers. Layer split: a CPU-only head's own blocks come first (they stay on
   * the CPU through `--n-gpu-layers`), then the RPC servers in `--rpc` order, then an accelerated head's
   * GPU, which llama.cpp puts last. Tensor split: the head's GPU, then the RPC servers.
   */
  shards: Shard[];
  /** The nodes to pass to `--rpc`, in this order (the caller knows their tunnel ports). */
  rpcNodes: NodeId[];
  /**
   * `--tensor-split` values, one per llama.cpp device: every shard but a CPU-only head's, in shard
   * order. Layer split: the device's blocks, +1 for the one that also holds the output layer, which
   * makes llama.cpp's cumulative split reproduce the shards' ranges exactly. Empty with one node.
   */
  tensorSplit: number[];
  /** `--n-gpu-layers`: blocks + output layer llama.cpp offloads to devices (the rest stay on the CPU). */
  gpuLayers: number;
  /**
   * A CPU-only head keeps the output matrix, which llama.cpp would put with the last RPC shard
   * (`outputOnHeadArgs` in protocol/instance-plan.ts): each token's activations cross to the head rather than its logits.
   */
  outputOnHead: boolean;
  /**
   * Split-related llama-server flags only: `--split-mode`, `--tensor-split`, `--n-gpu-layers`,
   * `--ctx-size`, `--parallel`. The caller adds `--rpc host:port,...` for `rpcNodes` in that order.
   */
  llamaServerArgs: string[];
  /** What each node needs for its shard, what it has, and what stays free once the model is loaded. */
  memoryPerNode: Array<{ node: NodeId; neededBytes: number; availableBytes: number; freeAfterBytes: number }>;
  predicted: Prediction;
  /** Why these nodes, this head and this split, for people. */
  reasons: string[];
  alternatives: Alternative[];
}

export interface Alternative {
  nodes: NodeId[];
  head: NodeId;
  splitMode: SplitMode;
  fits: boolean;
  predicted?: Prediction;
  why: string;
}
