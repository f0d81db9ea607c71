import { describe, expect, it } from "vitest";
import {
  defaultBytesPerParameter,
  kvCacheTokens,
  marginFixedBytes,
  maxLayersWithin,
  modelShape,
  shardMemory,
} from "./memory-estimate.js";
import { stories260K } from "./test-models.js";

describe("kvCacheTokens", () => {
  it.each([
    { contextSize: 4096, parallel: 1, cells: 4096 },
    { contextSize: 4000, parallel: 1, cells: 4096 },
    { contextSize: 100, parallel: 1, cells: 256 },
    { contextSize: 8192, parallel: 4, cells: 8192 },
    { contextSize: 1000, parallel: 3, cells: 3 * 512 },
  ])("$contextSize tokens over $parallel slots take $cells cells", ({ contextSize, parallel, cells }) => {
    expect(kvCacheTokens(contextSize, parallel)).toBe(cells);
  });
});

describe("modelShape", () => {
  it("derives bytes per weight and the vocabulary from the profile", () => {
    const shape = modelShape(stories260K);
    expect(shape.bytesPerParameter).toBeCloseTo(1185376 / 292800, 12);
    // 262400 non-layer bytes: two 512 × 64 f32 matrices and the output norm; the file's header makes
    // its bytes per weight a little over 4.
    expect(shape.vocabularyEstimate).toBe(507);
    // The tokenizer's own count, where the profile has it.
    expect(modelShape({ ...stories260K, vocabularySize: 512 }).vocabularyEstimate).toBe(512);
    expect(modelShape({ ...stories260K, parameterCount: undefined }).bytesPerParameter).toBe(
      defaultBytesPerParameter,
    );
  });

  it("takes the feed-forward width from the header, or bounds it by a block's weights", () => {
    expect(modelShape(stories260K).feedForwardLength).toBe(172);
    // 181760 bytes of f32 a block: 44,900 weights, of which 2 × 64² at most are attention's.
    const estimated = modelShape({ ...stories260K, feedForwardLength: undefined }).feedForwardLength;
    expect(estimated).toBeGreaterThanOrEqual(172);
    expect(estimated).toBeLessThan(1.2 * 191);
    expect(modelShape({ ...stories260K, expertCount: 8, expertUsedCount: 2 }).feedForwardLength).toBe(0);
  });

  it.each([
    // Its own output matrix: the rest of the non-layer bytes are the input embeddings (and norm).
    { outputWeightBytes: 131072, input: 262400 - 131072, output: 131072, separateOutput: true },
    // Tied, or not known (a profile from before it was read): all for the input, half for the output.
    { outputWeightBytes: 0, input: 262400, output: 131200, separateOutput: false },
    { outputWeightBytes: undefined, input: 262400, output: 131200, separateOutput: false },
  ])(
    "divides the non-layer bytes by the output matrix's size, $outputWeightBytes",
    ({ outputWeightBytes, input, output, separateOutput }) => {
      const shape = modelShape({ ...stories260K, outputWeightBytes });
      expect([shape.inputBytes, shape.outputBytes, shape.separateOutput]).toEqual([
        input,
        output,
        separateOutput,
      ]);
    },
  );
});

describe("shardMemory", () => {
  const shape = modelShape(stories260K);

  it("adds weights, KV cache, compute buffers and the margin on one node", () => {
    const memory = shardMemory(shape, 4096, 1, { blockFraction: 1, isHead: true, outputFraction: 1 });
    expect(memory.weightBytes).toBe(5 * 181760 + 262400);
    expect(memory.kvBytes).toBe(640 * 4096);
    // The feed-forward's peak (2 × 64 + 3 × 172 floats a token) is above attention's (6 × 64).
    expect(memory.computeBytes).toBe(4 * 512 * (2 * 64 + 3 * 172) + 2 * 512 * 4096 + 4 * 512 * 507 + 4 * 507);
    expect(memory.totalBytes).toBe(
      Math.ceil((memory.weightBytes + memory.kvBytes + memory.computeBytes) * 1.05) + marginFixedBytes,
    );
  });

  it.each([
    {
      name: "a middle shard",
      load: { blockFraction: 0.4, isHead: false, outputFraction: 0 },
      weights: 2 * 181760,
    },
    {
      name: "the head's CPU shard",
      load: { blockFraction: 0.2, isHead: true, outputFraction: 0 },
      weights: 181760 + 262400 - 131072,
    },
    {
      name: "the last shard",
      load: { blockFraction: 0.4, isHead: false, outputFraction: 1 },
      weights: 2 * 181760 + 131072,
    },
  ])("gives $name its blocks, KV share and layers", ({ load, weights }) => {
    const memory = shardMemory(shape, 4096, 1, load);
    expect(memory.weightBytes).toBeCloseTo(weights, 6);
    expect(memory.kvBytes).toBeCloseTo(640 * 4096 * load.blockFraction, 6);
  });
});

describe("maxLayersWithin", () => {
  const shape = modelShape({ ...stories260K, layerCount: 100, bytesPerLayer: 50e6 });
  const load = { isHead: false, outputFraction: 0 };
  it.each([0.2e9, 0.3e9, 1e9, 2.5e9, 10e9])("finds the most blocks that fit in %d bytes", (capacity) => {
    const layers = maxLayersWithin(capacity, shape, 4096, 1, load);
    const need = (count: number) =>
      shardMemory(shape, 4096, 1, { ...load, blockFraction: count / 100 }).totalBytes;
    if (layers < 0) expect(need(0)).toBeGreaterThan(capacity);
    else {
      expect(need(layers)).toBeLessThanOrEqual(capacity);
      if (layers < 100) expect(need(layers + 1)).toBeGreaterThan(capacity);
    }
  });
});
