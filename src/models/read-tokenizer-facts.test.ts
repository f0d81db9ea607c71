import { describe, expect, it } from "vitest";
import { hasFillInMiddleTokens } from "./read-tokenizer-facts.js";

describe("hasFillInMiddleTokens", () => {
  it.each([
    ["StarCoder's tokens", { tokens: ["a", "<fim_prefix>", "<fim_middle>", "<fim_suffix>"] }, true],
    ["Qwen's tokens", { tokens: ["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"] }, true],
    ["CodeLlama's tokens", { tokens: ["▁<PRE>", "▁<SUF>", "▁<MID>"] }, true],
    [
      "ids in the metadata",
      { tokens: ["x"], fim_pre_token_id: 1, fim_suf_token_id: 2, fim_mid_token_id: 3 },
      true,
    ],
    [
      "the older id keys",
      { tokens: ["x"], prefix_token_id: 1, suffix_token_id: 2, middle_token_id: 3 },
      true,
    ],
    ["no middle token", { tokens: ["<fim_prefix>", "<fim_suffix>"] }, false],
    ["a word that merely looks like one", { tokens: ["Ġfim", "fim_prefix"] }, false],
    ["no tokenizer at all", undefined, false],
  ])("%s: %s", (_name, ggml, expected) => {
    expect(hasFillInMiddleTokens(ggml)).toBe(expected);
  });
});
