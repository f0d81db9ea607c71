import type { ModelShape } from "./memory-estimate.js";
import { ubatchTokens } from "./memory-estimate.js";
import type { Prediction, SplitMode } from "./placement-types.js";
import type { Link, ResolvedNode } from "./resolve-nodes.js";

/**
 * Share of peak memory bandwidth llama.cpp's decode reaches on dense models: tokens/s × model bytes
 * over the chip's peak is typically 0.6-0.75 on Apple silicon and recent NVIDIA cards (llama.cpp's
 * community benchmark threads); 0.65 in the middle.
 */
export const bandwidthEfficiency = 0.65;
/** Per block per token: kernel launches and synchronisation, whatever the block's size. */
export const layerDispatchSeconds = 0.05e-3;
/**
 * Per Mixture-of-Experts block per token on top: routing (top-k), gathering the chosen experts and
 * their many small matrix products. Fitted to Qwen3-235B-A22B on one M3 Ultra: its ~12 GB of active
 * bytes alone would allow ~43 tokens/s at η, it decodes 20.4; 0.2 ms over 94 blocks closes most of it.
 */
export const expertRoutingSeconds = 0.2e-3;
/**
 * Round trips per token and RPC device. llama.cpp's RPC client sends a split's inputs and its graph
 * without waiting for replies and waits once, for the result: counted through a proxy on herd's
 * engine (llama-server and ggml-rpc-server on loopback, layer split, 8 × 1024 q8_0), 150 request /
 * reply turns in 128 decoded tokens with half the blocks remote, 160 with all of them.
 */
export const rpcRoundTripsPerDevice = 1.25;
/**
 * Per token and RPC device on top of the round trips: serialising the graph, copying the inputs and
 * the result in and out of the sockets, and running the graph on the remote backend.
 * - A GPU backend (Metal, CUDA, ...) also queues and synchronises its command buffers: fitted to the
 *   published llama.cpp RPC figures for Qwen3-235B-A22B on 1, 2 and 4 M3 Ultras (20.4, 18.1,
 *   15.2 tokens/s), about 5.4 ms per extra node with its round trips.
 * - A CPU backend: measured with the same engine, model and loopback split as the round trips,
 *   alternating with the model alone: 5.08 against 4.21 ms per token (median of 5 × 128 tokens).
 */
export const rpcFixedSeconds = { accelerated: 5e-3, cpu: 0.85e-3 } as const;
/** Share of peak FLOPS llama.cpp's prompt processing reaches (quantized matmuls, FP32 peak figures). */
export const computeEfficiency = 0.35;

/** One node's part in a configuration, as the cost model sees it. */
export interface CostDevice {
  node: ResolvedNode;
  /** The head ↔ node link; RPC traffic goes from the head to every shard (a star). */
  link: Link;
  /** Reached over RPC (not the head's own llama-server). */
  remote: boolean;
  blockFraction: number;
  outputFraction: number;
}

export interface CostBreakdown extends Prediction {
  /** Decode seconds per token spent reading weights and dispatching kernels. */
  computeSeconds: number;
  /** Decode seconds per token spent on the network. */
  networkSeconds: number;
  /** Of the decode time, the head's own part (its overhead and blocks), with its correction. */
  headSeconds: number;
  /** The head's part before its correction, and the RPC paths' (shards' blocks and hops) before theirs. */
  uncorrectedHeadSeconds: number;
  uncorrectedRemoteSeconds: number;
}

/**
 * Predicted single-stream speeds.
 *
 * Decode, seconds per token (E = embedding length, L = blocks, η = bandwidthEfficiency):
 *   read(d)    = fraction(d) × L × bytes a token reads per block + output share × output bytes
 *                (a MoE block reads its non-expert bytes + expert bytes × used / count)
 *   device(d)  = read(d) / (bandwidth(d) × η) + blocks(d) × (layerDispatch + MoE ? expertRouting : 0)
 *   hop(r)     = 1.25 × RTT(head, r) + rpcFixed(r's backend) + 2 × 4 B × E / throughput(head, r)
 *   none/layer = Σ device(d) + Σ over RPC devices hop(r) (+ 4 B × vocabulary / throughput when the
 *                output layer is remote: the logits come back to the head)
 *   tensor     = max device(d), every device running all L blocks' slices in parallel,
 *                + one dispatch (1.25 × max RTT + the largest rpcFixed)
 *                + 2 all-reduces per block, each ⌈log2 n⌉ butterfly steps of n copies through the head
 *                  (ggml-backend-meta.cpp's fallback when the backends have no collective, as RPC has
 *                  none): 2 × L × ⌈log2 n⌉ × n × (max RTT + 4 B × E / min throughput)
 *                + the logits gathered to the head
 * So an extra node costs a hop per token and decoding gets slower unless its bandwidth saves more.
 *
 * Calibration (see calibration.ts), where a node has it: bandwidth(d) × η is what the node measured
 * of its own engine and the head adds its measured per-token overhead once. Learnt corrections: the
 * head's part (overhead + its own devices) × the head's; each RPC path (the shard's device(r) +
 * hop(r)) × that path's, as the head learnt it; tensor split: network × the worst path's.
 *
 * Prefill, seconds per token (U = 512-token ubatch, ε = computeEfficiency):
 *   device(d)  = fraction(d) × L × 2 × active parameters per block / (FLOPS(d) × ε)
 *   layer      = Σ device(d) + Σ hops, each moving U tokens' activations (2 × U × 4 B × E), / U
 *   tensor     = max device(d) + (dispatch + all-reduces moving U tokens' activations) / U
 * Attention's share of FLOPs (grows with context) is left out: small at the contexts that decide.
 */
export function predictSpeed(
  shape: ModelShape,
  mode: SplitMode,
  devices: readonly CostDevice[],
): CostBreakdown {
  const layers = shape.layerCount;
  const perBlockOverhead = layerDispatchSeconds + (shape.expertUsedCount > 0 ? expertRoutingSeconds : 0);
  const activationBytes = 4 * shape.embeddingLength;
  const logitsBytes = 4 * shape.vocabularyEstimate;
  const flopsPerBlock = (2 * shape.layerReadBytes) / shape.bytesPerParameter;
  const remote = devices.filter((device) => device.remote);
  const local = devices.filter((device) => !device.remote);

  const decodeOf = (device: CostDevice, blocks: number) =>
    (device.blockFraction * layers * shape.layerReadBytes + device.outputFraction * shape.outputBytes) /
      (device.node.bandwidthBytesPerSecond * bandwidthEfficiency) +
    blocks * perBlockOverhead;
  // The head's llama-server loop and sampling, once per token, where the head measured it.
  const tokenOverhead = local[0]?.node.tokenOverheadSeconds ?? 0;
  const headCorrection = local[0]?.node.computeCorrection ?? 1;
  const pathCorrection = (device: CostDevice) => device.link.correction ?? 1;
  const prefillOf = (device: CostDevice) =>
    (device.blockFraction * layers * flopsPerBlock) / (device.node.flopsPerSecond * computeEfficiency);
  const fixedOf = (device: CostDevice) =>
    device.node.accelerated ? rpcFixedSeconds.accelerated : rpcFixedSeconds.cpu;
  const dispatch = (device: CostDevice) => rpcRoundTripsPerDevice * device.link.rttSeconds + fixedOf(device);

  if (mode !== "tensor") {
    const rawHead =
      tokenOverhead + sum(local.map((device) => decodeOf(device, device.blockFraction * layers)));
    const remoteCompute = (device: CostDevice) => decodeOf(device, device.blockFraction * layers);
    const hop = (device: CostDevice) =>
      dispatch(device) +
      (2 * activationBytes + (device.outputFraction > 0 ? logitsBytes : 0)) / throughput(device);
    const computeSeconds =
      rawHead * headCorrection + sum(remote.map((device) => remoteCompute(device) * pathCorrection(device)));
    const networkSeconds = sum(remote.map((device) => hop(device) * pathCorrection(device)));
    const logitsSeconds = sum(
      remote.filter((device) => device.outputFraction > 0).map((device) => logitsBytes / throughput(device)),
    );
    const prefillNetwork = sum(
      remote.map((device) => dispatch(device) + (2 * ubatchTokens * activationBytes) / throughput(device)),
    );
    const prefillSeconds = sum(devices.map(prefillOf)) + (prefillNetwork + logitsSeconds) / ubatchTokens;
    return {
      ...breakdown(computeSeconds, networkSeconds, prefillSeconds),
      headSeconds: rawHead * headCorrection,
      uncorrectedHeadSeconds: rawHead,
      uncorrectedRemoteSeconds: sum(remote.map((device) => remoteCompute(device) + hop(device))),
    };
  }

  const rawCompute = tokenOverhead + Math.max(...devices.map((device) => decodeOf(device, layers)));
  const worstRtt = Math.max(0, ...remote.map((device) => device.link.rttSeconds));
  const worstThroughput = Math.min(...remote.map(throughput));
  const oneDispatch =
    remote.length > 0 ? rpcRoundTripsPerDevice * worstRtt + Math.max(...remote.map(fixedOf)) : 0;
  const gather = remote.length > 0 ? logitsBytes / worstThroughput : 0;
  const copies = Math.ceil(Math.log2(devices.length)) * devices.length;
  const allReduce = (tokens: number) =>
    remote.length > 0 ? 2 * layers * copies * (worstRtt + (tokens * activationBytes) / worstThroughput) : 0;
  const worstCorrection = remote.length > 0 ? Math.max(...remote.map(pathCorrection)) : 1;
  const rawNetwork = oneDispatch + allReduce(1) + gather;
  const prefillSeconds =
    Math.max(...devices.map(prefillOf)) + (oneDispatch + allReduce(ubatchTokens) + gather) / ubatchTokens;
  return {
    ...breakdown(rawCompute * headCorrection, rawNetwork * worstCorrection, prefillSeconds),
    headSeconds: rawCompute * headCorrection,
    uncorrectedHeadSeconds: rawCompute,
    uncorrectedRemoteSeconds: rawNetwork,
  };
}

function throughput(device: CostDevice): number {
  return Math.max(1, device.link.throughputBytesPerSecond);
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function breakdown(computeSeconds: number, networkSeconds: number, prefillSeconds: number) {
  return {
    decodeTokensPerSecond: 1 / (computeSeconds + networkSeconds),
    prefillTokensPerSecond: 1 / prefillSeconds,
    computeSeconds,
    networkSeconds,
  };
}
