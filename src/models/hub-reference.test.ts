import { describe, expect, it } from "vitest";
import { formatHubReference, parseHubReference } from "./hub-reference.js";

describe("parseHubReference", () => {
  it.each([
    ["owner/repo", { repository: "owner/repo", revision: "main" }],
    ["owner/repo:Q4_K_M", { repository: "owner/repo", revision: "main", quantization: "Q4_K_M" }],
    ["hf.co/owner/repo:q8_0", { repository: "owner/repo", revision: "main", quantization: "q8_0" }],
    ["https://huggingface.co/owner/repo", { repository: "owner/repo", revision: "main" }],
    ["hf://owner/repo:latest", { repository: "owner/repo", revision: "main" }],
    ["owner/repo@v1.0:Q4_0", { repository: "owner/repo", revision: "v1.0", quantization: "Q4_0" }],
    [
      "owner/repo/sub/model-Q4_K_M.gguf",
      { repository: "owner/repo", revision: "main", file: "sub/model-Q4_K_M.gguf" },
    ],
  ])("reads %s", (text, expected) => {
    expect(parseHubReference(text)).toEqual({ quantization: undefined, file: undefined, ...expected });
  });

  it.each([
    ["repo", /needs an owner/],
    ["owner/repo/readme.md", /must be a \.gguf path/],
    ["owner/repo/../x.gguf", /must be a \.gguf path/],
    ["owner/re po", /letters, digits/],
    ["owner/repo:Q4 K", /not a quantization tag/],
  ])("refuses %s", (text, problem) => {
    expect(() => parseHubReference(text)).toThrow(problem);
  });

  it("writes a reference back the way it reads", () => {
    for (const text of ["owner/repo", "owner/repo:Q4_K_M", "owner/repo@dev/a/b.gguf"]) {
      expect(formatHubReference(parseHubReference(text))).toBe(text);
    }
  });
});
