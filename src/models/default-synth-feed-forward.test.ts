import { describe, expect, it } from "vitest";
import { defaultSynthFeedForward } from "./default-synth-feed-forward.js";

describe("defaultSynthFeedForward", () => {
  it.each([
    [256, 704],
    [64, 192],
    [4096, 10944],
  ])("an embedding of %i gets %i, a multiple of 32", (embedding, expected) => {
    expect(defaultSynthFeedForward(embedding)).toBe(expected);
  });
});
