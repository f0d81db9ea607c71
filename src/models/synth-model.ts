import { rename, rm } from "node:fs/promises";
import type { GgufContent, GgufFilePlan, GgufTensor, GgufValue, GgufWriteProgress } from "./gguf-writer.js";
import { planGgufFile, writeGgufFile } from "./gguf-writer.js";
import { readTokenizerMetadata } from "./read-tokenizer-metadata.js";
import type { TensorFill } from "./tensor-blocks.js";
import { deriveSeed, float32ToFloat16, GgmlType, generateTensorData } from "./tensor-blocks.js";

export type SynthWeightType = "f16" | "q8_0" | "q4_0";

/** The shape of a synthetic Llama model; everything but the weights' values is realistic. */
export type SynthModelShape = {
  /** A llama.cpp vocab GGUF (such as `models/ggml-vocab-llama-spm.gguf`) whose `tokenizer.*` keys are copied. */
  vocabPath: string;
  layerCount: number;
  embeddingLength: number;
  feedForwardLength: number;
  headCount: number;
  /** Default: `headCount` (plain multi-head attention). */
  keyValueHeadCount?: number;
  weightType: SynthWeightType;
  /** Default: 2048. */
  contextLength?: number;
  /** Same seed, same bytes. Default: 0. */
  seed?: number;
  /**
   * Scales what each block adds to the residual stream (its output projections). Below 1, models of
   * one seed and width but different depths predict alike, so a shallow one drafts for a deep one the
   * way a real small model drafts for its large sibling (speculative decoding benchmarks). Default 1.
   */
  blockScale?: number;
  /** Written as `general.name`. Default: "herd-synth". */
  name?: string;
  /** Written as `tokenizer.chat_template`. Default: the vocab's own template, else ChatML. */
  chatTemplate?: string;
  /**
   * Makes a model whose next-token logits are fixed, whatever the input: these token ids get these
   * logits, every other token 0; f16 only. Every token embeds the same, the layers add nothing and
   * the output matrix is zero but for these rows. With a chat template whose tool-call marker is
   * the highest token, the engine's tool-call grammar takes over after it: a model that produces
   * well-formed tool calls, for testing wire formats. Default: none (random weights).
   */
  fixedLogits?: ReadonlyMap<number, number>;
  /**
   * With `fixedLogits`: the logits of the first token of a reply, where they differ from those of
   * every later token (an end of turn that must not come first, so that no reply is empty). The
   * model's own tokens (`fixedLogits`' keys) then embed apart from every other token: after one of
   * them a reply is under way; after any other token the prompt has just ended.
   */
  openingLogits?: ReadonlyMap<number, number>;
};

export type SynthModelOptions = SynthModelShape & { outputPath: string };

export type SynthModelPlan = {
  totalBytes: number;
  parameterCount: number;
  tensorCount: number;
  vocabularySize: number;
};

/** A shape llama.cpp could not load, caught before any file is touched. */
export class InvalidModelShapeError extends Error {
  override readonly name = "InvalidModelShapeError";

  constructor(
    readonly option: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`Synthetic model option ${option} should be ${expected}, got ${String(value)}`);
  }
}

const chatMlTemplate =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const weightTypes = {
  f16: { ggmlType: GgmlType.F16, fileType: 1 },
  q4_0: { ggmlType: GgmlType.Q4_0, fileType: 2 },
  q8_0: { ggmlType: GgmlType.Q8_0, fileType: 7 },
} as const;

/**
 * Writes a random-weight Llama GGUF that llama-server loads and generates (nonsense) from. The file
 * appears at `outputPath` only when complete: it is written to `<outputPath>.partial` first, and that
 * is removed on error or abort.
 * @example await writeSynthModel({ outputPath: "tiny.gguf", vocabPath, layerCount: 2, embeddingLength: 256, feedForwardLength: 512, headCount: 4, weightType: "q8_0" });
 */
export async function writeSynthModel(
  options: SynthModelOptions,
  { signal, onProgress }: { signal?: AbortSignal; onProgress?: (progress: GgufWriteProgress) => void } = {},
): Promise<SynthModelPlan> {
  const { content, vocabularySize } = await synthModelContent(options, signal);
  const partialPath = `${options.outputPath}.partial`;
  try {
    const plan = await writeGgufFile(partialPath, content, { signal, onProgress });
    await rename(partialPath, options.outputPath);
    return summarize(plan, vocabularySize);
  } catch (error) {
    // The error is rethrown untouched; removing the partial file only keeps the guarantee above.
    await rm(partialPath, { force: true });
    throw error;
  }
}

/** Size and parameter count of the file `writeSynthModel` would write, without writing it. */
export async function planSynthModel(
  shape: SynthModelShape,
  { signal }: { signal?: AbortSignal } = {},
): Promise<SynthModelPlan> {
  const { content, vocabularySize } = await synthModelContent(shape, signal);
  return summarize(planGgufFile(content), vocabularySize);
}

function summarize(plan: GgufFilePlan, vocabularySize: number): SynthModelPlan {
  const elementCount = (dimensions: readonly number[]) =>
    dimensions.reduce((product, size) => product * size, 1);
  return {
    totalBytes: plan.totalBytes,
    parameterCount: plan.tensors.reduce((sum, tensor) => sum + elementCount(tensor.dimensions), 0),
    tensorCount: plan.tensors.length,
    vocabularySize,
  };
}

type SynthTensorSpec = Omit<GgufTensor, "data"> & { fill: TensorFill };

/** The metadata and lazily generated tensors of a synthetic model, for writers other than `writeSynthModel`. */
export async function synthModelContent(
  shape: SynthModelShape,
  signal?: AbortSignal,
): Promise<{ content: GgufContent<GgufTensor>; vocabularySize: number }> {
  validateShape(shape);
  const { tokenizer, vocabularySize } = await readTokenizerMetadata(shape.vocabPath, signal);
  const { layerCount, embeddingLength, headCount, weightType } = shape;
  const keyValueHeadCount = shape.keyValueHeadCount ?? headCount;
  const quantized = weightType !== "f16";
  const uint32 = (value: number): GgufValue => ({ type: "uint32", value });
  const metadata: Record<string, GgufValue> = {
    "general.architecture": { type: "string", value: "llama" },
    "general.name": { type: "string", value: shape.name ?? "herd-synth" },
    "general.file_type": uint32(weightTypes[weightType].fileType),
    ...(quantized ? { "general.quantization_version": uint32(2) } : {}),
    "llama.context_length": uint32(shape.contextLength ?? 2048),
    "llama.embedding_length": uint32(embeddingLength),
    "llama.block_count": uint32(layerCount),
    "llama.feed_forward_length": uint32(shape.feedForwardLength),
    "llama.rope.dimension_count": uint32(embeddingLength / headCount),
    "llama.attention.head_count": uint32(headCount),
    "llama.attention.head_count_kv": uint32(keyValueHeadCount),
    "llama.attention.layer_norm_rms_epsilon": { type: "float32", value: 1e-5 },
    "llama.rope.freq_base": { type: "float32", value: 10000 },
    "llama.vocab_size": uint32(vocabularySize),
    ...tokenizer,
  };
  const chatTemplate =
    shape.chatTemplate ?? (tokenizer["tokenizer.chat_template"]?.value as string | undefined);
  metadata["tokenizer.chat_template"] = { type: "string", value: chatTemplate ?? chatMlTemplate };

  const seed = shape.seed ?? 0;
  const tensors = tensorSpecs(shape, vocabularySize).map((spec) => {
    const elementCount = spec.dimensions.reduce((product, size) => product * size, 1);
    let data: Iterable<Uint8Array> = generateTensorData({
      type: spec.type,
      elementCount,
      fill: spec.fill,
      seed: deriveSeed(seed, spec.name),
    });
    if (spec.name === "output.weight" && shape.fixedLogits) {
      data = withRows(
        data,
        outputRows(shape.fixedLogits, shape.openingLogits, embeddingLength),
        embeddingLength,
      );
    }
    if (spec.name === "token_embd.weight" && shape.fixedLogits && shape.openingLogits) {
      // The first element of an own token's embedding is -1 (every other element of every token is 1).
      const own = [...shape.fixedLogits.keys()].map((token): [number, number[]] => [token, [-1, 1]]);
      data = withRows(data, new Map(own), embeddingLength);
    }
    return { name: spec.name, dimensions: spec.dimensions, type: spec.type, data };
  });
  return { content: { metadata, tensors }, vocabularySize };
}

/** llama.cpp's Llama tensor set; matrices are [ne0 = input size, ne1 = output size]. */
function tensorSpecs(shape: SynthModelShape, vocabularySize: number): SynthTensorSpec[] {
  const { embeddingLength: embedding, feedForwardLength: feedForward } = shape;
  const keyValue = (embedding / shape.headCount) * (shape.keyValueHeadCount ?? shape.headCount);
  const type = weightTypes[shape.weightType].ggmlType;
  // Uniform in ±sqrt(3 / fan-in) has standard deviation 1 / sqrt(fan-in), which keeps activations near 1.
  const matrix = (name: string, input: number, output: number, scale = 1): SynthTensorSpec => ({
    name,
    dimensions: [input, output],
    type,
    fill: { kind: "uniform", range: scale * Math.sqrt(3 / input) },
  });
  const blockScale = shape.blockScale ?? 1;
  const norm = (name: string): SynthTensorSpec => ({
    name,
    dimensions: [embedding],
    type: GgmlType.F32,
    fill: { kind: "constant", value: 1 },
  });
  const layers = Array.from({ length: shape.layerCount }, (_, layer) => {
    const prefix = `blk.${layer}`;
    return [
      norm(`${prefix}.attn_norm.weight`),
      matrix(`${prefix}.attn_q.weight`, embedding, embedding),
      matrix(`${prefix}.attn_k.weight`, embedding, keyValue),
      matrix(`${prefix}.attn_v.weight`, embedding, keyValue),
      matrix(`${prefix}.attn_output.weight`, embedding, embedding, blockScale),
      norm(`${prefix}.ffn_norm.weight`),
      matrix(`${prefix}.ffn_gate.weight`, embedding, feedForward),
      matrix(`${prefix}.ffn_up.weight`, embedding, feedForward),
      matrix(`${prefix}.ffn_down.weight`, feedForward, embedding, blockScale),
    ];
  });
  if (shape.fixedLogits) {
    // See `fixedLogits`: identical embeddings, layers whose outputs are zero.
    const constant = (spec: SynthTensorSpec, value: number): SynthTensorSpec => ({
      ...spec,
      fill: { kind: "constant", value },
    });
    for (const layer of layers) {
      layer[4] = constant(layer[4]!, 0);
      layer[8] = constant(layer[8]!, 0);
    }
    return [
      constant(matrix("token_embd.weight", embedding, vocabularySize), 1),
      ...layers.flat(),
      norm("output_norm.weight"),
      constant(matrix("output.weight", embedding, vocabularySize), 0),
    ];
  }
  return [
    matrix("token_embd.weight", embedding, vocabularySize),
    ...layers.flat(),
    norm("output_norm.weight"),
    matrix("output.weight", embedding, vocabularySize),
  ];
}

/**
 * The output matrix's rows, each a row's first elements (the last one repeated to the row's end),
 * for a hidden state that is all ones after a prompt and -1 then ones after the model's own token
 * (see `openingLogits`): each row's dot product with it is the logit asked for.
 */
function outputRows(
  fixed: ReadonlyMap<number, number>,
  opening: ReadonlyMap<number, number> | undefined,
  rowLength: number,
): Map<number, number[]> {
  const rows = new Map<number, number[]>();
  if (!opening) {
    for (const [token, logit] of fixed) rows.set(token, [logit / rowLength]);
    return rows;
  }
  for (const token of new Set([...fixed.keys(), ...opening.keys()])) {
    const later = fixed.get(token) ?? 0;
    const first = opening.get(token) ?? later;
    // first = x + (n-1)y and later = -x + (n-1)y.
    rows.set(token, [(first - later) / 2, (first + later) / (2 * (rowLength - 1))]);
  }
  return rows;
}

/**
 * Sets whole rows (of `rowLength` f16 values) of a tensor's byte stream: each row's first elements
 * as given, its last given value repeated to the row's end.
 */
function* withRows(
  chunks: Iterable<Uint8Array>,
  values: ReadonlyMap<number, readonly number[]>,
  rowLength: number,
): Generator<Uint8Array> {
  const rowBytes = rowLength * 2;
  const rows = [...values]
    .sort(([a], [b]) => a - b)
    .map(([row, elements]) => [row, elements.map(float32ToFloat16)] as const);
  let offset = 0;
  for (const chunk of chunks) {
    for (const [row, halves] of rows) {
      const start = Math.max(row * rowBytes, offset);
      const end = Math.min((row + 1) * rowBytes, offset + chunk.length);
      for (let index = start; index < end; index += 2) {
        const element = (index - row * rowBytes) / 2;
        const half = halves[Math.min(element, halves.length - 1)]!;
        chunk[index - offset] = half & 0xff;
        chunk[index - offset + 1] = half >>> 8;
      }
    }
    offset += chunk.length;
    yield chunk;
  }
}

function validateShape(shape: SynthModelShape): void {
  const positive = (option: keyof SynthModelShape, value: unknown) => {
    if (!Number.isSafeInteger(value) || (value as number) < 1) {
      throw new InvalidModelShapeError(option, value, "a positive integer");
    }
  };
  if (!(shape.weightType in weightTypes)) {
    throw new InvalidModelShapeError(
      "weightType",
      shape.weightType,
      `one of ${Object.keys(weightTypes).join(", ")}`,
    );
  }
  positive("layerCount", shape.layerCount);
  positive("embeddingLength", shape.embeddingLength);
  positive("feedForwardLength", shape.feedForwardLength);
  positive("headCount", shape.headCount);
  positive("keyValueHeadCount", shape.keyValueHeadCount ?? shape.headCount);
  positive("contextLength", shape.contextLength ?? 2048);
  if (shape.fixedLogits && shape.weightType !== "f16") {
    throw new InvalidModelShapeError("weightType", shape.weightType, "f16 for a model with fixed logits");
  }
  if (shape.blockScale !== undefined && !(shape.blockScale > 0 && shape.blockScale <= 1)) {
    throw new InvalidModelShapeError("blockScale", shape.blockScale, "a number in (0, 1]");
  }
  if (shape.seed !== undefined && !Number.isSafeInteger(shape.seed)) {
    throw new InvalidModelShapeError("seed", shape.seed, "an integer");
  }
  const { embeddingLength, headCount } = shape;
  if (embeddingLength % headCount !== 0) {
    throw new InvalidModelShapeError(
      "embeddingLength",
      embeddingLength,
      `a multiple of headCount (${headCount})`,
    );
  }
  if ((embeddingLength / headCount) % 2 !== 0) {
    throw new InvalidModelShapeError(
      "embeddingLength",
      embeddingLength,
      "headCount times an even head size (RoPE rotates pairs)",
    );
  }
  const keyValueHeadCount = shape.keyValueHeadCount ?? headCount;
  if (headCount % keyValueHeadCount !== 0) {
    throw new InvalidModelShapeError(
      "headCount",
      headCount,
      `a multiple of keyValueHeadCount (${keyValueHeadCount})`,
    );
  }
  if (shape.weightType !== "f16") {
    // Quantized rows are whole 32-value blocks; rows run along ne0, which is embedding or FFN size.
    for (const option of ["embeddingLength", "feedForwardLength"] as const) {
      if (shape[option] % 32 !== 0) {
        throw new InvalidModelShapeError(
          option,
          shape[option],
          `a multiple of 32 for ${shape.weightType} weights`,
        );
      }
    }
  }
}
