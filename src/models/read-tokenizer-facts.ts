import { ggufReader } from "./gguf-reader.js";

/** What a model's tokenizer tells clients: its chat template, and whether it can fill in the middle. */
export interface TokenizerFacts {
  /** `tokenizer.chat_template` (Jinja), when the file has one. */
  chatTemplate?: string;
  /** The vocabulary has the prefix, suffix and middle tokens llama-server's `/infill` needs. */
  fillInMiddle: boolean;
}

/**
 * The FIM tokens as llama.cpp finds them (`llama-vocab.cpp`): by id in the metadata, or else by
 * the token's text, as the families that use each spelling write it.
 */
const fimTokens = {
  prefix: {
    keys: ["fim_pre_token_id", "prefix_token_id"],
    texts: [
      "<|fim_prefix|>",
      "<fim-prefix>",
      "<fim_prefix>",
      "<｜fim▁begin｜>",
      "<PRE>",
      "▁<PRE>",
      "<|code_prefix|>",
      "<|prefix|>",
    ],
  },
  suffix: {
    keys: ["fim_suf_token_id", "suffix_token_id"],
    texts: [
      "<|fim_suffix|>",
      "<fim-suffix>",
      "<fim_suffix>",
      "<｜fim▁hole｜>",
      "<SUF>",
      "▁<SUF>",
      "<|code_suffix|>",
      "<|suffix|>",
    ],
  },
  middle: {
    keys: ["fim_mid_token_id", "middle_token_id"],
    texts: [
      "<|fim_middle|>",
      "<fim-middle>",
      "<fim_middle>",
      "<｜fim▁end｜>",
      "<MID>",
      "▁<MID>",
      "<|code_middle|>",
      "<|middle|>",
    ],
  },
};

/** Whether `tokenizer.ggml` (a GGUF header's tokenizer metadata) has all three FIM tokens. */
export function hasFillInMiddleTokens(ggml: Record<string, unknown> | undefined): boolean {
  const tokens = new Set(Array.isArray(ggml?.tokens) ? (ggml.tokens as unknown[]) : []);
  return Object.values(fimTokens).every(
    ({ keys, texts }) =>
      keys.some((key) => typeof ggml?.[key] === "number") || texts.some((text) => tokens.has(text)),
  );
}

/**
 * Reads a GGUF file's tokenizer facts from its header (never its weights). A file that cannot be
 * read now (removed, or on another node) has none to tell: showing the rest of the model matters more.
 */
export async function readTokenizerFacts(path: string): Promise<TokenizerFacts> {
  try {
    const { readGgufFileInfo } = await ggufReader();
    const info = await readGgufFileInfo(path, { logWarnings: false, readTensorInfo: false });
    const tokenizer = info.metadata.tokenizer as
      | { chat_template?: unknown; ggml?: Record<string, unknown> }
      | undefined;
    const template = tokenizer?.chat_template;
    return {
      ...(typeof template === "string" ? { chatTemplate: template } : {}),
      fillInMiddle: hasFillInMiddleTokens(tokenizer?.ggml),
    };
  } catch {
    return { fillInMiddle: false };
  }
}
