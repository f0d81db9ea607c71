import { describe, expect, it } from "vitest";
import { chooseHubModel, hubModels, quantizationOfFile } from "./hub-files.js";

const file = (path: string, sizeBytes = 100) => ({ path, sizeBytes, sha256: "0".repeat(64) });
const repository = [
  file("README.md", 5),
  file("model-Q4_K_M.gguf", 400),
  file("model-Q8_0.gguf", 800),
  file("mmproj-model-f16.gguf", 50),
  file("big/model-F16-00002-of-00002.gguf", 900),
  file("big/model-F16-00001-of-00002.gguf", 900),
  file("broken/model-Q2_K-00001-of-00003.gguf", 90),
];

describe("quantizationOfFile", () => {
  it.each([
    ["Llama-3.2-1B-Instruct-Q4_K_M.gguf", "Q4_K_M"],
    ["model.q8_0.gguf", "Q8_0"],
    ["stories260K-f32.gguf", "F32"],
    ["x/model-IQ2_XXS.gguf", "IQ2_XXS"],
    ["model-BF16-00001-of-00004.gguf", "BF16"],
    ["model-UD-Q4_K_XL.gguf", "UD-Q4_K_XL"],
    ["model.gguf", "unknown"],
  ])("%s is %s", (path, tag) => {
    expect(quantizationOfFile(path)).toBe(tag);
  });
});

describe("hubModels", () => {
  it("groups split parts in order, drops projectors and incomplete splits, smallest first", () => {
    expect(hubModels(repository)).toEqual([
      { quantization: "Q4_K_M", files: [file("model-Q4_K_M.gguf", 400)], sizeBytes: 400 },
      { quantization: "Q8_0", files: [file("model-Q8_0.gguf", 800)], sizeBytes: 800 },
      {
        quantization: "F16",
        files: [
          file("big/model-F16-00001-of-00002.gguf", 900),
          file("big/model-F16-00002-of-00002.gguf", 900),
        ],
        sizeBytes: 1800,
      },
    ]);
  });
});

describe("chooseHubModel", () => {
  const base = { repository: "o/r", revision: "main" };
  it("takes the named quantization, any case", () => {
    expect(chooseHubModel(repository, { ...base, quantization: "q8_0" }).quantization).toBe("Q8_0");
  });
  it("takes a named split part with all its siblings", () => {
    const chosen = chooseHubModel(repository, { ...base, file: "big/model-F16-00002-of-00002.gguf" });
    expect(chosen.files.map((part) => part.path)).toEqual([
      "big/model-F16-00001-of-00002.gguf",
      "big/model-F16-00002-of-00002.gguf",
    ]);
  });
  it("prefers Q4_K_M when nothing is named", () => {
    expect(chooseHubModel(repository, base).quantization).toBe("Q4_K_M");
  });
  it("says which quantizations exist when the one asked for does not", () => {
    expect(() => chooseHubModel(repository, { ...base, quantization: "Q5_K_S" })).toThrow(
      "o/r has no Q5_K_S quantization; it has Q4_K_M, Q8_0, F16",
    );
  });
});
