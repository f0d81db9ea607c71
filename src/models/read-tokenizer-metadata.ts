import type { GgufFileInfo } from "node-llama-cpp";
import { z } from "zod";
import { ggufReader } from "./gguf-reader.js";
import type { GgufScalarType, GgufValue } from "./gguf-writer.js";

/** A vocab file without the tokenizer metadata llama.cpp needs. */
export class InvalidVocabError extends Error {
  override readonly name = "InvalidVocabError";

  constructor(
    readonly vocabPath: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`Vocab ${vocabPath} is unusable: ${reason}`, options);
  }
}

const vocabSchema = z.object({
  tokenizer: z.looseObject({
    ggml: z.looseObject({
      model: z.string(),
      tokens: z.array(z.string()).min(1),
      scores: z.array(z.number()).optional(),
      token_type: z.array(z.number().int()).optional(),
      merges: z.array(z.string()).optional(),
    }),
  }),
});

/** Types llama.cpp insists on, which the reader's plain JavaScript values no longer tell. */
const tokenizerArrayItemTypes: Record<string, GgufScalarType> = {
  "tokenizer.ggml.tokens": "string",
  "tokenizer.ggml.scores": "float32",
  "tokenizer.ggml.token_type": "int32",
  "tokenizer.ggml.merges": "string",
  "tokenizer.ggml.precompiled_charsmap": "uint8",
};

/** The vocab's `tokenizer.*` metadata, flattened back to GGUF keys with GGUF types. */
export async function readTokenizerMetadata(
  vocabPath: string,
  signal?: AbortSignal,
): Promise<{ tokenizer: Record<string, GgufValue>; vocabularySize: number }> {
  const { readGgufFileInfo } = await ggufReader();
  let info: GgufFileInfo;
  try {
    info = await readGgufFileInfo(vocabPath, { logWarnings: false, readTensorInfo: false, signal });
  } catch (error) {
    signal?.throwIfAborted();
    throw new InvalidVocabError(vocabPath, "it could not be read as GGUF", { cause: error });
  }
  const parsed = vocabSchema.safeParse(info.metadata);
  if (!parsed.success)
    throw new InvalidVocabError(vocabPath, z.prettifyError(parsed.error), { cause: parsed.error });
  const { tokens, scores, token_type: tokenTypes } = parsed.data.tokenizer.ggml;
  for (const [key, values] of [
    ["scores", scores],
    ["token_type", tokenTypes],
  ] as const) {
    if (values && values.length !== tokens.length) {
      throw new InvalidVocabError(
        vocabPath,
        `tokenizer.ggml.${key} has ${values.length} entries for ${tokens.length} tokens`,
      );
    }
  }
  const entries: Record<string, GgufValue> = {};
  const visit = (node: object, prefix: string): void => {
    for (const [name, value] of Object.entries(node)) {
      const key = `${prefix}.${name}`;
      if (value !== null && typeof value === "object" && !Array.isArray(value)) visit(value, key);
      else entries[key] = tokenizerValue(vocabPath, key, value);
    }
  };
  // Copy from the reader's own object rather than zod's output, which reorders keys.
  visit(info.metadata.tokenizer, "tokenizer");
  return { tokenizer: entries, vocabularySize: tokens.length };
}

function tokenizerValue(vocabPath: string, key: string, value: unknown): GgufValue {
  if (Array.isArray(value)) {
    const itemType = tokenizerArrayItemTypes[key] ?? inferArrayItemType(vocabPath, key, value);
    // The item type was checked against every item, which the union type cannot express.
    return { type: "array", itemType, value } as GgufValue;
  }
  if (key.endsWith("_token_id") || key === "tokenizer.ggml.token_type_count") {
    if (Number.isSafeInteger(value) && (value as number) >= 0)
      return { type: "uint32", value: value as number };
  }
  const type = inferScalarType(value);
  if (!type) throw new InvalidVocabError(vocabPath, `${key} has an unsupported value ${String(value)}`);
  return { type, value } as GgufValue;
}

/** Best guess for keys llama.cpp does not pin down: integers become uint32/int32/int64, other numbers float32. */
function inferScalarType(value: unknown): GgufScalarType | undefined {
  switch (typeof value) {
    case "string":
      return "string";
    case "boolean":
      return "bool";
    case "bigint":
      return value < 0n ? "int64" : "uint64";
    case "number":
      if (!Number.isInteger(value)) return "float32";
      if (value >= 0 && value <= 0xffffffff) return "uint32";
      return value >= -(2 ** 31) ? "int32" : "int64";
    default:
      return undefined;
  }
}

function inferArrayItemType(vocabPath: string, key: string, items: readonly unknown[]): GgufScalarType {
  const types = new Set(items.map(inferScalarType));
  if (types.size === 0) return "string";
  if (types.size === 1 && !types.has(undefined)) return [...types][0]!;
  if ([...types].every((type) => type === "uint32" || type === "int32")) return "int32";
  if ([...types].every((type) => type === "uint32" || type === "int32" || type === "float32"))
    return "float32";
  throw new InvalidVocabError(vocabPath, `${key} mixes value types (${[...types].join(", ")})`);
}
