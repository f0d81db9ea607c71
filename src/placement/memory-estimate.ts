import type { PlacementModel } from "./placement-types.js";

/** llama-server's default `--ubatch-size`: the most tokens one graph computes at once. */
export const ubatchTokens = 512;
/** Kept free on every node: 5% of what the plan puts there, plus 256 MiB for the processes themselves. */
export const marginFraction = 0.05;
export const marginFixedBytes = 256 * 1024 * 1024;
/** Bytes per weight assumed when the parameter count is unknown: 4.5 bits, a Q4_K_M-ish file. */
export const defaultBytesPerParameter = 4.5 / 8;

/** What memory and cost estimates need of a model, derived once. */
export interface ModelShape {
  layerCount: number;
  bytesPerLayer: number;
  /** Input token embeddings, kept in the head's host memory (llama.cpp never offloads the input layer). */
  inputBytes: number;
  /** The output layer, kept with the device that holds the last block (or the head's CPU, see below). */
  outputBytes: number;
  /**
   * The output matrix is a tensor of its own (`output.weight`, not tied to the input embeddings), so
   * a CPU head can keep it (`--override-tensor`) where llama.cpp would put it with the last RPC shard.
   */
  separateOutput: boolean;
  /** Weight bytes one token reads in one block: all of a dense block, the routed share of the experts. */
  layerReadBytes: number;
  bytesPerParameter: number;
  embeddingLength: number;
  /** A dense block's feed-forward width (0 for Mixture-of-Experts, whose experts are counted apart). */
  feedForwardLength: number;
  expertUsedCount: number;
  vocabularyEstimate: number;
  kvBytesPerToken: number;
}

/**
 * How `nonLayerBytes` divides between input embeddings and output layer: exact where the profile
 * knows the model's output matrix (`outputWeightBytes`). Otherwise (tied, where llama.cpp loads the
 * output as a second copy of the embeddings on a GPU and maps the same bytes on a CPU, or a profile
 * from before it was read) the head holds all of `nonLayerBytes` for the input (exact when tied) and
 * the last block's device half of it for the output: together 1.5×, never short by more than half.
 */
export function modelShape(model: PlacementModel): ModelShape {
  const expertShare = model.expertCount > 0 ? model.expertUsedCount / model.expertCount : 1;
  const bytesPerParameter =
    model.parameterCount && model.parameterCount > 0
      ? model.sizeBytes / model.parameterCount
      : defaultBytesPerParameter;
  const embeddingLength = Math.max(1, model.embeddingLength);
  const separateOutput = (model.outputWeightBytes ?? 0) > 0;
  // Where the header did not say: what a block's weights leave beside attention (at most 2E² with
  // grouped-query attention) in its three feed-forward matrices, an upper bound.
  const parametersPerBlock = model.bytesPerLayer / bytesPerParameter;
  const feedForwardLength =
    model.expertCount > 0
      ? 0
      : model.feedForwardLength ||
        Math.max(0, (parametersPerBlock - 2 * embeddingLength ** 2) / (3 * embeddingLength));
  return {
    layerCount: model.layerCount,
    bytesPerLayer: model.bytesPerLayer,
    inputBytes: separateOutput ? model.nonLayerBytes - model.outputWeightBytes! : model.nonLayerBytes,
    outputBytes: separateOutput ? model.outputWeightBytes! : model.nonLayerBytes / 2,
    separateOutput,
    layerReadBytes: model.bytesPerLayer - model.expertBytesPerLayer * (1 - expertShare),
    bytesPerParameter,
    embeddingLength,
    feedForwardLength,
    expertUsedCount: model.expertUsedCount,
    // Where the profile does not say: embeddings and output are each vocabulary × embedding weights.
    vocabularyEstimate:
      model.vocabularySize || Math.ceil(model.nonLayerBytes / (2 * embeddingLength * bytesPerParameter)),
    kvBytesPerToken: model.kvBytesPerToken,
  };
}

/** Cells of KV cache llama.cpp allocates: each slot's share of `-c`, padded to 256 as llama.cpp pads it. */
export function kvCacheTokens(contextSize: number, parallel: number): number {
  const slots = Math.max(1, parallel);
  return slots * Math.ceil(Math.ceil(contextSize / slots) / 256) * 256;
}

/** What one node holds of the model. */
export interface ShardLoad {
  /** Share of every block's weights and KV cache (blocks / layerCount, or the tensor-split proportion). */
  blockFraction: number;
  /** Share of the output layer: 1 on the last block's device with layer split, the proportion with tensor. */
  outputFraction: number;
  /** The head: input embeddings and llama.cpp's logits buffer live in its host memory. */
  isHead: boolean;
  /** Bytes the node holds besides its share of the model (the head's draft model). Default 0. */
  extraBytes?: number;
}

export interface ShardMemory {
  weightBytes: number;
  kvBytes: number;
  computeBytes: number;
  totalBytes: number;
}

/**
 * Memory a node needs for its shard.
 *
 * compute = 4 B × ubatch × (max(6 × embedding, 2 × embedding + 3 × feed-forward)
 *                             + 2 × experts used × embedding)
 *              one block's f32 activations at their peak (residual, norm, Q, K, V, attention output;
 *              or the feed-forward's input, residual and its gate, up and product, which is what
 *              llama.cpp reserves on an RPC shard of a dense model, to the byte; each routed expert's
 *              intermediates), counted once because ggml's allocator reuses them block after block;
 *              flash attention (llama-server's default) never materialises the KQ matrix
 *         + 2 B × ubatch × KV cells                             the f16 attention mask
 *         + outputFraction × 4 B × ubatch × vocabulary         logits of a full ubatch
 *         + (head) 4 B × vocabulary × parallel                 llama.cpp's host output buffer
 * total   = (weights + KV + compute) × 1.05 + 256 MiB
 */
export function shardMemory(
  shape: ModelShape,
  contextSize: number,
  parallel: number,
  load: ShardLoad,
): ShardMemory {
  const cells = kvCacheTokens(contextSize, parallel);
  const weightBytes =
    load.blockFraction * shape.layerCount * shape.bytesPerLayer +
    (load.isHead ? shape.inputBytes : 0) +
    load.outputFraction * shape.outputBytes;
  const kvBytes = load.blockFraction * shape.kvBytesPerToken * cells;
  const computeBytes =
    4 *
      ubatchTokens *
      (Math.max(6 * shape.embeddingLength, 2 * shape.embeddingLength + 3 * shape.feedForwardLength) +
        2 * shape.expertUsedCount * shape.embeddingLength) +
    2 * ubatchTokens * cells +
    load.outputFraction * 4 * ubatchTokens * shape.vocabularyEstimate +
    (load.isHead ? 4 * shape.vocabularyEstimate * parallel : 0);
  const totalBytes =
    Math.ceil((weightBytes + kvBytes + computeBytes + (load.extraBytes ?? 0)) * (1 + marginFraction)) +
    marginFixedBytes;
  return { weightBytes, kvBytes, computeBytes, totalBytes };
}

/**
 * Memory a draft model needs on the head: all its weights, its own KV cache for the same context and
 * slots, and its compute buffers (llama-server gives the draft a context of the same size).
 */
export function draftMemoryBytes(draft: PlacementModel, contextSize: number, parallel: number): number {
  const memory = shardMemory(modelShape(draft), contextSize, parallel, {
    blockFraction: 1,
    outputFraction: 1,
    isHead: true,
  });
  return memory.weightBytes + memory.kvBytes + memory.computeBytes;
}

/** The most blocks a node can take with layer split (negative when even its fixed share does not fit). */
export function maxLayersWithin(
  capacityBytes: number,
  shape: ModelShape,
  contextSize: number,
  parallel: number,
  load: Omit<ShardLoad, "blockFraction">,
): number {
  if (shape.layerCount === 0) return 0;
  const fixed = shardMemory(shape, contextSize, parallel, { ...load, blockFraction: 0 }).totalBytes;
  const one = shardMemory(shape, contextSize, parallel, { ...load, blockFraction: 1 / shape.layerCount });
  const perLayer = one.totalBytes - fixed;
  if (capacityBytes < fixed) return -1;
  let layers = perLayer > 0 ? Math.floor((capacityBytes - fixed) / perLayer) : shape.layerCount;
  layers = Math.min(layers + 1, shape.layerCount);
  // The rounding inside `shardMemory` can differ by a byte from the division: check the answer.
  const fits = (count: number) =>
    shardMemory(shape, contextSize, parallel, { ...load, blockFraction: count / shape.layerCount })
      .totalBytes <= capacityBytes;
  while (layers > 0 && !fits(layers)) layers--;
  return layers;
}

/**
 * What `nodes` nodes need together, whoever holds what: memory is linear in each node's share, so any
 * division of the blocks (one head with the input, one node with the output) adds up to the same.
 */
export function totalRequirement(
  shape: ModelShape,
  contextSize: number,
  parallel: number,
  nodes: number,
  headExtraBytes = 0,
): number {
  const count = Math.max(1, nodes);
  let total = 0;
  for (let index = 0; index < count; index++) {
    total += shardMemory(shape, contextSize, parallel, {
      blockFraction: 1 / count,
      isHead: index === 0,
      outputFraction: index === count - 1 ? 1 : 0,
      extraBytes: index === 0 ? headExtraBytes : 0,
    }).totalBytes;
  }
  return total;
}
