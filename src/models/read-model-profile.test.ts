import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidModelFileError } from "../protocol/errors.js";
import { type GgufValue, writeGgufFile } from "./gguf-writer.js";
import { readGgufFacts } from "./read-model-profile.js";
import { GgmlType } from "./tensor-blocks.js";

const storiesPath = fileURLToPath(new URL("../../../shared/models/stories260K-f32.gguf", import.meta.url));

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "herd-read-model-profile-"));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const uint32 = (value: number): GgufValue => ({ type: "uint32", value });
const string = (value: string): GgufValue => ({ type: "string", value });

/**
 * Writes a two-block llama GGUF (embedding 32, 4 heads, one 32×32 weight per block, an 8-token
 * embedding table) with `metadata` added, and returns its path.
 */
async function tinyLlama(
  fileName: string,
  metadata: Record<string, GgufValue>,
  type: GgmlType = GgmlType.F32,
): Promise<string> {
  const path = join(directory, fileName);
  const bytesPerValue = type === GgmlType.F32 ? 4 : 2;
  const tensor = (name: string, dimensions: number[]) => ({
    name,
    dimensions,
    type,
    data: [new Uint8Array(dimensions[0]! * dimensions[1]! * bytesPerValue)],
  });
  await writeGgufFile(path, {
    metadata: {
      "general.architecture": string("llama"),
      "llama.block_count": uint32(2),
      "llama.embedding_length": uint32(32),
      "llama.attention.head_count": uint32(4),
      ...metadata,
    },
    tensors: [
      tensor("token_embd.weight", [32, 8]),
      tensor("blk.0.attn_q.weight", [32, 32]),
      tensor("blk.1.attn_q.weight", [32, 32]),
    ],
  });
  return path;
}

describe("readGgufFacts", () => {
  it("reads stories260K's shape from its header", async () => {
    expect(await readGgufFacts(storiesPath)).toEqual({
      sizeBytes: 1185376,
      architecture: "llama",
      fileType: "F32",
      parameterCount: 292800,
      layerCount: 5,
      bytesPerLayer: 181760,
      nonLayerBytes: 262400,
      // Its own 512 × 64 output matrix, not tied to the input embeddings.
      outputWeightBytes: 512 * 64 * 4,
      // 5 layers × 4 KV heads × (8 + 8) key and value dimensions × 2 bytes of f16.
      kvBytesPerToken: 640,
      embeddingLength: 64,
      feedForwardLength: 172,
      expertCount: 0,
      expertUsedCount: 0,
      expertBytesPerLayer: 0,
      headCount: 8,
      kvHeadCount: 4,
      trainContextLength: 2048,
      hasChatTemplate: false,
      isEmbeddingModel: false,
      // Its own 512-token Llama vocabulary: only models with these exact tokens can draft for it.
      vocabulary: {
        type: "llama",
        size: 512,
        bosTokenId: 1,
        eosTokenId: 2,
        digest: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    });
  });

  it("accounts for every weight byte of stories260K in the layers or outside them", async () => {
    const facts = await readGgufFacts(storiesPath);
    expect(facts.bytesPerLayer).toBeGreaterThan(0);
    // All F32: four bytes per parameter.
    expect(facts.bytesPerLayer * facts.layerCount + facts.nonLayerBytes).toBe(facts.parameterCount * 4);
  });

  const derivations: Array<{ name: string; metadata: Record<string, GgufValue>; facts: object }> = [
    {
      name: "no optional keys",
      metadata: {},
      facts: { fileType: "F32", kvHeadCount: 4, kvBytesPerToken: 2 * 4 * (8 + 8) * 2, trainContextLength: 0 },
    },
    {
      name: "grouped-query attention",
      metadata: { "llama.attention.head_count_kv": uint32(2) },
      facts: { kvHeadCount: 2, kvBytesPerToken: 2 * 2 * (8 + 8) * 2 },
    },
    {
      name: "explicit key and value lengths",
      metadata: { "llama.attention.key_length": uint32(16), "llama.attention.value_length": uint32(8) },
      facts: { kvBytesPerToken: 2 * 4 * (16 + 8) * 2 },
    },
    {
      name: "a file type in the header",
      metadata: { "general.file_type": uint32(15) },
      facts: { fileType: "Q4_K_M" },
    },
    {
      name: "a file type herd has no name for",
      metadata: { "general.file_type": uint32(99) },
      facts: { fileType: "type-99" },
    },
    {
      name: "a context length",
      metadata: { "llama.context_length": uint32(4096) },
      facts: { trainContextLength: 4096 },
    },
    {
      name: "a chat template",
      metadata: { "tokenizer.chat_template": string("{{ messages }}") },
      facts: { hasChatTemplate: true },
    },
    {
      name: "a pooling type",
      metadata: { "llama.pooling_type": uint32(1) },
      facts: { isEmbeddingModel: true },
    },
    {
      name: "pooling type none",
      metadata: { "llama.pooling_type": uint32(0) },
      facts: { isEmbeddingModel: false },
    },
  ];

  it.each(derivations)("derives the profile of a GGUF with $name", async ({ name, metadata, facts }) => {
    const path = await tinyLlama(`${name.replaceAll(" ", "-")}.gguf`, metadata);
    expect(await readGgufFacts(path)).toMatchObject({
      architecture: "llama",
      layerCount: 2,
      embeddingLength: 32,
      headCount: 4,
      parameterCount: 32 * 8 + 2 * 32 * 32,
      bytesPerLayer: 32 * 32 * 4,
      nonLayerBytes: 32 * 8 * 4,
      // No `output.weight`: the output is tied to the input embeddings.
      outputWeightBytes: 0,
      ...facts,
    });
  });

  it("names the file type after the most common tensor type when the header has none", async () => {
    const path = await tinyLlama("f16-without-file-type.gguf", {}, GgmlType.F16);
    expect(await readGgufFacts(path)).toMatchObject({ fileType: "F16", bytesPerLayer: 32 * 32 * 2 });
  });

  // Per-layer KV head counts (OpenELM's grow with depth) are summed over the layers.
  it("counts every layer's KV heads when they differ per layer", async () => {
    const path = await tinyLlama("per-layer-kv-heads.gguf", {
      "llama.attention.head_count_kv": { type: "array", itemType: "uint32", value: [1, 2] },
    });
    expect((await readGgufFacts(path)).kvBytesPerToken).toBeGreaterThanOrEqual((1 + 2) * (8 + 8) * 2);
  });

  it("measures the expert tensors of a Mixture-of-Experts model", async () => {
    const path = join(directory, "tiny-moe.gguf");
    const tensor = (name: string, dimensions: number[]) => ({
      name,
      dimensions,
      type: GgmlType.F32,
      data: [new Uint8Array(dimensions.reduce((product, size) => product * size, 4))],
    });
    await writeGgufFile(path, {
      metadata: {
        "general.architecture": string("llama"),
        "llama.block_count": uint32(2),
        "llama.embedding_length": uint32(32),
        "llama.attention.head_count": uint32(4),
        "llama.expert_count": uint32(4),
        "llama.expert_used_count": uint32(2),
      },
      tensors: [
        tensor("token_embd.weight", [32, 8]),
        tensor("blk.0.attn_q.weight", [32, 32]),
        tensor("blk.0.ffn_up_exps.weight", [32, 16, 4]),
        tensor("blk.1.attn_q.weight", [32, 32]),
        tensor("blk.1.ffn_up_exps.weight", [32, 16, 4]),
      ],
    });
    expect(await readGgufFacts(path)).toMatchObject({
      expertCount: 4,
      expertUsedCount: 2,
      expertBytesPerLayer: 32 * 16 * 4 * 4,
      bytesPerLayer: (32 * 32 + 32 * 16 * 4) * 4,
    });
  });

  const invalidFiles: Array<{ name: string; write: (path: string) => Promise<unknown>; problem: RegExp }> = [
    {
      name: "a text file",
      write: (path) => writeFile(path, "this is not a model\n"),
      problem: /not a readable GGUF file \(it does not start with 'GGUF'/,
    },
    { name: "an empty file", write: (path) => writeFile(path, ""), problem: /not a readable GGUF file/ },
    {
      name: "the first 600 KB of stories260K",
      write: async (path) => writeFile(path, (await readFile(storiesPath)).subarray(0, 600 * 1024)),
      problem: /truncated: 614400 bytes, the header describes 1185376/,
    },
    {
      name: "stories260K one byte short",
      write: async (path) => writeFile(path, (await readFile(storiesPath)).subarray(0, 1185375)),
      problem: /truncated: 1185375 bytes, the header describes 1185376/,
    },
    {
      name: "an architecture llama.cpp does not know",
      write: (path) =>
        writeGgufFile(path, {
          metadata: { "general.architecture": string("herd-imaginary") },
          tensors: [
            { name: "blk.0.weight", dimensions: [4], type: GgmlType.F32, data: [new Uint8Array(16)] },
          ],
        }),
      problem: /architecture 'herd-imaginary' is not supported by llama.cpp/,
    },
    {
      name: "no architecture",
      write: (path) => writeGgufFile(path, { metadata: { "general.name": string("nameless") }, tensors: [] }),
      problem: /general.architecture is missing/,
    },
    {
      name: "no tensors",
      write: (path) =>
        writeGgufFile(path, { metadata: { "general.architecture": string("llama") }, tensors: [] }),
      problem: /the file holds no tensors/,
    },
  ];

  it.each(invalidFiles)("throws InvalidModelFileError for $name", async ({ name, write, problem }) => {
    const path = join(directory, `${name.replaceAll(" ", "-")}.gguf`);
    await write(path);
    const error = await readGgufFacts(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidModelFileError);
    expect(error).toMatchObject({ path, problem: expect.stringMatching(problem) });
  });

  it.each([
    { name: "a missing file", path: () => join(directory, "missing.gguf"), problem: "no such file" },
    { name: "a directory", path: () => directory, problem: "not a regular file" },
  ])("throws InvalidModelFileError for $name", async ({ path, problem }) => {
    await expect(readGgufFacts(path())).rejects.toMatchObject({
      name: "InvalidModelFileError",
      path: path(),
      problem,
    });
  });

  // node-llama-cpp returns what it could read of a header cut short; herd says the file is truncated.
  it("says a file cut inside its header is truncated", async () => {
    const path = join(directory, "cut-in-header.gguf");
    await writeFile(path, (await readFile(storiesPath)).subarray(0, 2000));
    await expect(readGgufFacts(path)).rejects.toMatchObject({ problem: expect.stringMatching(/truncated/) });
  });
});
