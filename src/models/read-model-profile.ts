import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import type { GgufFileInfo, GgufTensorInfo } from "node-llama-cpp";
import { InvalidModelFileError } from "../protocol/errors.js";
import { checkGgufHeader } from "./check-gguf-header.js";
import { ggufReader } from "./gguf-reader.js";

/** The facts about a GGUF file that herd stores in a model profile (all but name and storage). */
export interface GgufFacts {
  sizeBytes: number;
  architecture: string;
  fileType: string;
  parameterCount: number;
  layerCount: number;
  bytesPerLayer: number;
  nonLayerBytes: number;
  outputWeightBytes: number;
  kvBytesPerToken: number;
  embeddingLength: number;
  feedForwardLength: number;
  expertCount: number;
  expertUsedCount: number;
  expertBytesPerLayer: number;
  headCount: number;
  kvHeadCount: number;
  trainContextLength: number;
  hasChatTemplate: boolean;
  isEmbeddingModel: boolean;
  vocabulary?: VocabularyFacts;
}

/** What decides whether two models can draft for each other: the same tokens under the same ids. */
export interface VocabularyFacts {
  /** `tokenizer.ggml.model`, e.g. `llama`, `gpt2`. */
  type: string;
  size: number;
  bosTokenId?: number;
  eosTokenId?: number;
  /** sha256 of every token's text in id order. */
  digest: string;
}

const fileTypeNames: Record<number, string> = {
  0: "F32",
  1: "F16",
  2: "Q4_0",
  3: "Q4_1",
  7: "Q8_0",
  8: "Q5_0",
  9: "Q5_1",
  10: "Q2_K",
  11: "Q3_K_S",
  12: "Q3_K_M",
  13: "Q3_K_L",
  14: "Q4_K_S",
  15: "Q4_K_M",
  16: "Q5_K_S",
  17: "Q5_K_M",
  18: "Q6_K",
  19: "IQ2_XXS",
  20: "IQ2_XS",
  21: "Q2_K_S",
  22: "IQ3_XS",
  23: "IQ3_XXS",
  24: "IQ1_S",
  25: "IQ4_NL",
  26: "IQ3_S",
  27: "IQ3_M",
  28: "IQ2_S",
  29: "IQ2_M",
  30: "IQ4_XS",
  31: "IQ1_M",
  32: "BF16",
  36: "TQ1_0",
  37: "TQ2_0",
  38: "MXFP4",
};

/** `model-00001-of-00003.gguf`: the parts of a split GGUF are named after their number and count. */
const splitPart = /-(\d{5})-of-(\d{5})\.gguf$/i;

/** Every part's path of a split GGUF given its first part (or the path alone for a whole file). */
export function ggufPartPaths(path: string): string[] {
  const match = splitPart.exec(path);
  if (!match) return [path];
  const count = Number(match[2]);
  const prefix = path.slice(0, match.index);
  return Array.from(
    { length: count },
    (_, index) => `${prefix}-${String(index + 1).padStart(5, "0")}-of-${match[2]}.gguf`,
  );
}

/**
 * Reads a GGUF file's header (never its weights) and derives what placement needs. Rejects files
 * that are not GGUF, are cut short, or use an architecture llama.cpp does not know. For the first
 * part of a split GGUF, every part is read and checked.
 */
export async function readGgufFacts(path: string): Promise<GgufFacts> {
  const parts = ggufPartPaths(path);
  const sizes: number[] = [];
  for (const part of parts) {
    const stats = await stat(part).catch((error: NodeJS.ErrnoException) => {
      throw new InvalidModelFileError(part, error.code === "ENOENT" ? "no such file" : error.message, {
        cause: error,
      });
    });
    if (!stats.isFile()) throw new InvalidModelFileError(part, "not a regular file");
    sizes.push(stats.size);
  }
  // Every part is checked before node-llama-cpp reads any: its reader trusts the counts in a header.
  for (const part of parts) {
    const problem = await checkGgufHeader(part).catch((error: NodeJS.ErrnoException) => {
      throw new InvalidModelFileError(part, error.message, { cause: error });
    });
    if (problem !== undefined) throw new InvalidModelFileError(part, `not a readable GGUF file (${problem})`);
  }
  const { readGgufFileInfo } = await ggufReader();
  let info: GgufFileInfo;
  try {
    info = await readGgufFileInfo(path, {
      logWarnings: false,
      sourceType: "filesystem",
      spliceSplitFiles: parts.length > 1,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new InvalidModelFileError(path, `not a readable GGUF file (${message})`, { cause: error });
  }
  return ggufFactsFromInfo(info, path, sizes, true);
}

/**
 * The same facts for a GGUF on a hub, read through HTTP range requests of its header only; `sizes`
 * are the parts' sizes from the hub's listing.
 */
export async function readRemoteGgufFacts(
  url: string,
  sizes: number[],
  options: { headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<GgufFacts> {
  const { readGgufFileInfo } = await ggufReader();
  let info: GgufFileInfo;
  try {
    info = await readGgufFileInfo(url, {
      logWarnings: false,
      sourceType: "network",
      fetchHeaders: options.headers,
      signal: options.signal,
      spliceSplitFiles: sizes.length > 1,
      fetchRetryOptions: { retries: 1 },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new InvalidModelFileError(url, `cannot read its GGUF header (${message})`, { cause: error });
  }
  return ggufFactsFromInfo(info, url, sizes, false);
}

async function ggufFactsFromInfo(
  info: GgufFileInfo,
  path: string,
  sizes: number[],
  checkSizes: boolean,
): Promise<GgufFacts> {
  const totalSize = sizes.reduce((sum, size) => sum + size, 0);
  // node-llama-cpp returns what it could read of a header that is cut short.
  if (checkSizes && info.infoEndOffset !== undefined && Number(info.infoEndOffset) > sizes[0]!) {
    throw new InvalidModelFileError(
      path,
      `truncated inside its header: ${sizes[0]} bytes, the header alone needs ${info.infoEndOffset}`,
    );
  }
  const architecture = info.metadata.general?.architecture;
  if (typeof architecture !== "string")
    throw new InvalidModelFileError(path, "general.architecture is missing");
  // The header passed the structural check, but its values may still be nonsense (a tensor type
  // that does not exist): node-llama-cpp then throws a plain Error, which is the file's fault.
  const { GgufInsights } = await ggufReader();
  const insights = await GgufInsights.from(info).catch((error: unknown) => {
    throw new InvalidModelFileError(path, `its tensors cannot be read: ${(error as Error).message}`, {
      cause: error,
    });
  });
  if (!insights.isSupportedByLlamaCpp) {
    throw new InvalidModelFileError(path, `architecture '${architecture}' is not supported by llama.cpp`);
  }
  // Tensor offsets count from the data section of the part that holds them.
  const byPart = new Map<number, Array<GgufTensorInfo>>();
  for (const tensor of info.fullTensorInfo ?? info.tensorInfo ?? []) {
    const part = tensor.filePart ?? 1;
    byPart.set(part, [...(byPart.get(part) ?? []), tensor]);
  }
  if (byPart.size === 0) throw new InvalidModelFileError(path, "the file holds no tensors");
  let dataStarts = 0;
  let layerBytes = 0;
  let expertBytes = 0;
  let outputWeightBytes = 0;
  for (const [part, unsorted] of byPart) {
    const tensors = [...unsorted].sort((a, b) => Number(a.offset) - Number(b.offset));
    const first = tensors[0]!;
    const dataStart = Number(first.fileOffset) - Number(first.offset);
    dataStarts += dataStart;
    // One file: its tensors end where the model's size says; a split part: where the part ends.
    const partEnd = byPart.size === 1 ? insights.modelSize : (sizes[part - 1] ?? 0) - dataStart;
    tensors.forEach((tensor, index) => {
      const next = tensors[index + 1];
      const bytes = (next ? Number(next.offset) : partEnd) - Number(tensor.offset);
      if (tensor.name.startsWith("blk.")) layerBytes += bytes;
      // Mixture-of-Experts blocks stack their experts in `ffn_{gate,up,down}_exps` (shared experts are `_shexp`).
      if (tensor.name.startsWith("blk.") && tensor.name.includes("_exps")) expertBytes += bytes;
      // A model that ties its output to the input embeddings has no matrix of its own for it.
      if (tensor.name === "output.weight") outputWeightBytes += bytes;
    });
  }
  const expectedSize = dataStarts + insights.modelSize;
  if (checkSizes && totalSize < expectedSize) {
    throw new InvalidModelFileError(
      path,
      `truncated: ${totalSize} bytes, the header describes ${expectedSize}`,
    );
  }

  const metadata = info.architectureMetadata as Record<string, unknown> & {
    block_count?: number;
    embedding_length?: number;
    feed_forward_length?: number | number[];
    context_length?: number;
    expert_count?: number;
    expert_used_count?: number;
    attention?: {
      head_count?: number | number[];
      head_count_kv?: number | number[];
      key_length?: number;
      value_length?: number;
    };
    pooling_type?: number;
  };
  const blockCount = metadata.block_count ?? 0;
  const embeddingLength = metadata.embedding_length ?? 0;
  const headCount = scalar(metadata.attention?.head_count);
  const kvHeadCount = scalar(metadata.attention?.head_count_kv) || headCount;
  const headDimension = headCount > 0 ? embeddingLength / headCount : 0;
  const keyLength = metadata.attention?.key_length ?? headDimension;
  const valueLength = metadata.attention?.value_length ?? headDimension;
  // f16 K and V for every block; architectures with sliding windows or recurrent state use less,
  // so this is the conservative figure.
  const kvHeadsOverLayers = Array.isArray(metadata.attention?.head_count_kv)
    ? metadata.attention.head_count_kv.reduce((sum, heads) => sum + heads, 0)
    : blockCount * kvHeadCount;
  const kvBytesPerToken = kvHeadsOverLayers * (keyLength + valueLength) * 2;
  const tokenizer = info.metadata.tokenizer as
    | { chat_template?: unknown; ggml?: Record<string, unknown> }
    | undefined;
  const fileTypeNumber = info.metadata.general?.file_type;

  return {
    sizeBytes: totalSize,
    architecture,
    fileType: fileTypeName(fileTypeNumber, insights.dominantTensorType),
    parameterCount: insights.totalParameters,
    layerCount: blockCount,
    bytesPerLayer: blockCount > 0 ? layerBytes / blockCount : 0,
    nonLayerBytes: insights.modelSize - layerBytes,
    outputWeightBytes,
    kvBytesPerToken,
    embeddingLength,
    // Per layer where layers differ: the widest decides the compute buffer.
    feedForwardLength: Array.isArray(metadata.feed_forward_length)
      ? Math.max(0, ...metadata.feed_forward_length)
      : (metadata.feed_forward_length ?? 0),
    expertCount: metadata.expert_count ?? 0,
    expertUsedCount: metadata.expert_used_count ?? 0,
    expertBytesPerLayer: blockCount > 0 ? expertBytes / blockCount : 0,
    headCount,
    kvHeadCount,
    trainContextLength: metadata.context_length ?? 0,
    hasChatTemplate: typeof tokenizer?.chat_template === "string",
    isEmbeddingModel: metadata.pooling_type !== undefined && metadata.pooling_type !== 0,
    vocabulary: vocabularyFacts(tokenizer?.ggml),
  };
}

function vocabularyFacts(ggml: Record<string, unknown> | undefined): VocabularyFacts | undefined {
  const tokens = ggml?.tokens;
  if (!Array.isArray(tokens) || typeof ggml?.model !== "string") return undefined;
  const digest = createHash("sha256");
  for (const token of tokens) digest.update(`${String(token)}\0`);
  const id = (value: unknown) => (typeof value === "number" ? value : undefined);
  return {
    type: ggml.model,
    size: tokens.length,
    bosTokenId: id(ggml.bos_token_id),
    eosTokenId: id(ggml.eos_token_id),
    digest: digest.digest("hex"),
  };
}

/** The file type from the header; old files lack it, so fall back to the most common tensor type. */
function fileTypeName(fileType: number | undefined, dominantTensorType: number | undefined): string {
  if (fileType !== undefined) return fileTypeNames[fileType] ?? `type-${fileType}`;
  const tensorTypeNames: Record<number, string> = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    8: "Q8_0",
    30: "BF16",
  };
  return dominantTensorType === undefined
    ? "unknown"
    : (tensorTypeNames[dominantTensorType] ?? `tensor-type-${dominantTensorType}`);
}

/** Some architectures store per-layer head counts as arrays; the first layer's count stands for all. */
function scalar(value: number | number[] | undefined): number {
  if (Array.isArray(value)) return value[0] ?? 0;
  return value ?? 0;
}
