import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { type GgufFileInfo, GgufInsights, readGgufFileInfo } from "node-llama-cpp";
import { InvalidModelFileError } from "../protocol/errors.js";

/** The facts about a GGUF file that herd stores in a model profile (all but name and storage). */
export interface GgufFacts {
  sizeBytes: number;
  architecture: string;
  fileType: string;
  parameterCount: number;
  layerCount: number;
  bytesPerLayer: number;
  nonLayerBytes: number;
  kvBytesPerToken: number;
  embeddingLength: number;
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

/**
 * Reads a GGUF file's header (never its weights) and derives what placement needs. Rejects files
 * that are not GGUF, are cut short, or use an architecture llama.cpp does not know.
 */
export async function readGgufFacts(path: string): Promise<GgufFacts> {
  const stats = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new InvalidModelFileError(path, error.code === "ENOENT" ? "no such file" : error.message, {
      cause: error,
    });
  });
  if (!stats.isFile()) throw new InvalidModelFileError(path, "not a regular file");
  let info: GgufFileInfo;
  try {
    info = await readGgufFileInfo(path, {
      logWarnings: false,
      sourceType: "filesystem",
      spliceSplitFiles: false,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new InvalidModelFileError(path, `not a readable GGUF file (${message})`, { cause: error });
  }
  // node-llama-cpp returns what it could read of a header that is cut short.
  if (info.infoEndOffset !== undefined && Number(info.infoEndOffset) > stats.size) {
    throw new InvalidModelFileError(
      path,
      `truncated inside its header: ${stats.size} bytes, the header alone needs ${info.infoEndOffset}`,
    );
  }
  const architecture = info.metadata.general?.architecture;
  if (typeof architecture !== "string")
    throw new InvalidModelFileError(path, "general.architecture is missing");
  const insights = await GgufInsights.from(info);
  if (!insights.isSupportedByLlamaCpp) {
    throw new InvalidModelFileError(path, `architecture '${architecture}' is not supported by llama.cpp`);
  }
  const tensors = [...(info.fullTensorInfo ?? info.tensorInfo ?? [])].sort(
    (a, b) => Number(a.offset) - Number(b.offset),
  );
  const first = tensors[0];
  if (!first) throw new InvalidModelFileError(path, "the file holds no tensors");
  const dataStart = Number(first.fileOffset) - Number(first.offset);
  const expectedSize = dataStart + insights.modelSize;
  if (stats.size < expectedSize) {
    throw new InvalidModelFileError(
      path,
      `truncated: ${stats.size} bytes, the header describes ${expectedSize}`,
    );
  }

  let layerBytes = 0;
  let expertBytes = 0;
  tensors.forEach((tensor, index) => {
    const next = tensors[index + 1];
    const end = next ? Number(next.offset) : insights.modelSize;
    if (tensor.name.startsWith("blk.")) layerBytes += end - Number(tensor.offset);
    // Mixture-of-Experts blocks stack their experts in `ffn_{gate,up,down}_exps` (shared experts are `_shexp`).
    if (tensor.name.startsWith("blk.") && tensor.name.includes("_exps"))
      expertBytes += end - Number(tensor.offset);
  });

  const metadata = info.architectureMetadata as Record<string, unknown> & {
    block_count?: number;
    embedding_length?: number;
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
    sizeBytes: stats.size,
    architecture,
    fileType: fileTypeName(fileTypeNumber, insights.dominantTensorType),
    parameterCount: insights.totalParameters,
    layerCount: blockCount,
    bytesPerLayer: blockCount > 0 ? layerBytes / blockCount : 0,
    nonLayerBytes: insights.modelSize - layerBytes,
    kvBytesPerToken,
    embeddingLength,
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
