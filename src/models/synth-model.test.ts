import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GgufValue } from "./gguf-writer.js";
import { writeGgufFile } from "./gguf-writer.js";
import { InvalidVocabError } from "./read-tokenizer-metadata.js";
import type { SynthModelShape } from "./synth-model.js";
import { InvalidModelShapeError, planSynthModel, writeSynthModel } from "./synth-model.js";
import { float16ToFloat32, GgmlType } from "./tensor-blocks.js";

const vocabularySize = 300;
const tokens = [
  "<unk>",
  "<s>",
  "</s>",
  ...Array.from({ length: vocabularySize - 3 }, (_, index) => `▁t${index}`),
];
const scores = tokens.map((_, index) => -index / 4);
const tokenTypes = tokens.map((_, index) => (index === 0 ? 2 : index < 3 ? 3 : 1));

let directory: string;
let vocabPath: string;

/** A hand-made llama (SentencePiece) vocab in the shape of llama.cpp's `ggml-vocab-*.gguf` files. */
async function writeVocab(path: string, extra: Record<string, GgufValue> = {}): Promise<void> {
  await writeGgufFile(path, {
    metadata: {
      "general.architecture": { type: "string", value: "llama" },
      "tokenizer.ggml.model": { type: "string", value: "llama" },
      "tokenizer.ggml.pre": { type: "string", value: "default" },
      "tokenizer.ggml.tokens": { type: "array", itemType: "string", value: tokens },
      "tokenizer.ggml.scores": { type: "array", itemType: "float32", value: scores },
      "tokenizer.ggml.token_type": { type: "array", itemType: "int32", value: tokenTypes },
      "tokenizer.ggml.bos_token_id": { type: "uint32", value: 1 },
      "tokenizer.ggml.eos_token_id": { type: "uint32", value: 2 },
      "tokenizer.ggml.unknown_token_id": { type: "uint32", value: 0 },
      "tokenizer.ggml.add_bos_token": { type: "bool", value: true },
      "tokenizer.ggml.add_eos_token": { type: "bool", value: false },
      ...extra,
    },
    tensors: [],
  });
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "herd-synth-model-"));
  vocabPath = join(directory, "vocab.gguf");
  await writeVocab(vocabPath);
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const smallShape = (): SynthModelShape => ({
  vocabPath,
  layerCount: 2,
  embeddingLength: 64,
  feedForwardLength: 128,
  headCount: 4,
  keyValueHeadCount: 2,
  weightType: "q8_0",
});

/** A fresh empty directory, so a test can assert that nothing at all was left in it. */
async function emptyDirectory(name: string): Promise<string> {
  const path = join(directory, name);
  await mkdir(path);
  return path;
}

/** The GGUF type id written right after a metadata key (and the item type id, for arrays). */
function valueTypeOf(file: Buffer, key: string): number[] {
  const at = file.indexOf(Buffer.from(key)) + Buffer.byteLength(key);
  const type = file.readUInt32LE(at);
  return type === 9 ? [type, file.readUInt32LE(at + 4)] : [type];
}

describe("writeSynthModel", () => {
  it.each([
    ["f16", 1, GgmlType.F16, undefined],
    ["q8_0", 7, GgmlType.Q8_0, 2],
    ["q4_0", 2, GgmlType.Q4_0, 2],
  ] as const)(
    "writes a %s Llama model of the planned size",
    async (weightType, fileType, ggmlType, quantization) => {
      const outputPath = join(directory, `model-${weightType}.gguf`);
      const shape = { ...smallShape(), weightType };
      const plan = await planSynthModel(shape);
      const written = await writeSynthModel({ ...shape, outputPath, name: "tiny" });
      expect(written).toEqual(plan);
      expect((await stat(outputPath)).size).toBe(plan.totalBytes);
      // Per layer: q and output 64x64, k and v 64x32, gate, up and down 64x128, two norms of 64.
      const perLayer = 2 * 64 * 64 + 2 * 64 * 32 + 3 * 64 * 128 + 2 * 64;
      expect(plan).toMatchObject({ vocabularySize, tensorCount: 2 * 9 + 3 });
      expect(plan.parameterCount).toBe(2 * perLayer + 2 * 64 * vocabularySize + 64);

      const info = await readGgufFileInfo(outputPath, { logWarnings: false });
      const metadata = info.metadata as unknown as Record<string, Record<string, unknown>>;
      expect(metadata.general).toEqual({
        architecture: "llama",
        name: "tiny",
        file_type: fileType,
        ...(quantization ? { quantization_version: quantization } : {}),
        alignment: 32,
      });
      expect(metadata.llama).toEqual({
        context_length: 2048,
        embedding_length: 64,
        block_count: 2,
        feed_forward_length: 128,
        rope: { dimension_count: 16, freq_base: 10000 },
        attention: { head_count: 4, head_count_kv: 2, layer_norm_rms_epsilon: Math.fround(1e-5) },
        vocab_size: vocabularySize,
      });
      expect(metadata.tokenizer).toMatchObject({
        ggml: {
          model: "llama",
          pre: "default",
          tokens,
          token_type: tokenTypes,
          bos_token_id: 1,
          add_bos_token: true,
        },
        chat_template: expect.stringContaining("<|im_start|>"),
      });
      expect((metadata.tokenizer?.ggml as { scores?: number[] } | undefined)?.scores).toEqual(
        scores.map(Math.fround),
      );

      const layout = Object.fromEntries((info.tensorInfo ?? []).map((tensor) => [tensor.name, tensor]));
      expect(Object.keys(layout)).toHaveLength(plan.tensorCount);
      expect.soft(layout["token_embd.weight"]).toMatchObject({ dimensions: [64, vocabularySize], ggmlType });
      expect
        .soft(layout["blk.1.attn_norm.weight"])
        .toMatchObject({ dimensions: [64], ggmlType: GgmlType.F32 });
      expect.soft(layout["blk.1.attn_q.weight"]).toMatchObject({ dimensions: [64, 64], ggmlType });
      expect.soft(layout["blk.1.attn_k.weight"]).toMatchObject({ dimensions: [64, 32], ggmlType });
      expect.soft(layout["blk.1.attn_v.weight"]).toMatchObject({ dimensions: [64, 32], ggmlType });
      expect.soft(layout["blk.1.attn_output.weight"]).toMatchObject({ dimensions: [64, 64], ggmlType });
      expect
        .soft(layout["blk.1.ffn_norm.weight"])
        .toMatchObject({ dimensions: [64], ggmlType: GgmlType.F32 });
      expect.soft(layout["blk.1.ffn_gate.weight"]).toMatchObject({ dimensions: [64, 128], ggmlType });
      expect.soft(layout["blk.1.ffn_up.weight"]).toMatchObject({ dimensions: [64, 128], ggmlType });
      expect.soft(layout["blk.1.ffn_down.weight"]).toMatchObject({ dimensions: [128, 64], ggmlType });
      expect.soft(layout["output_norm.weight"]).toMatchObject({ dimensions: [64], ggmlType: GgmlType.F32 });
      expect.soft(layout["output.weight"]).toMatchObject({ dimensions: [64, vocabularySize], ggmlType });
    },
  );

  it("writes the GGUF value types llama.cpp checks", async () => {
    const outputPath = join(directory, "types.gguf");
    await writeSynthModel({ ...smallShape(), outputPath });
    const file = await readFile(outputPath);
    const [uint32, float32, bool, string, array, int32] = [4, 6, 7, 8, 9, 5];
    expect({
      "general.file_type": valueTypeOf(file, "general.file_type"),
      "llama.context_length": valueTypeOf(file, "llama.context_length"),
      "llama.attention.layer_norm_rms_epsilon": valueTypeOf(file, "llama.attention.layer_norm_rms_epsilon"),
      "tokenizer.ggml.tokens": valueTypeOf(file, "tokenizer.ggml.tokens"),
      "tokenizer.ggml.scores": valueTypeOf(file, "tokenizer.ggml.scores"),
      "tokenizer.ggml.token_type": valueTypeOf(file, "tokenizer.ggml.token_type"),
      "tokenizer.ggml.bos_token_id": valueTypeOf(file, "tokenizer.ggml.bos_token_id"),
      "tokenizer.ggml.add_bos_token": valueTypeOf(file, "tokenizer.ggml.add_bos_token"),
    }).toEqual({
      "general.file_type": [uint32],
      "llama.context_length": [uint32],
      "llama.attention.layer_norm_rms_epsilon": [float32],
      "tokenizer.ggml.tokens": [array, string],
      "tokenizer.ggml.scores": [array, float32],
      "tokenizer.ggml.token_type": [array, int32],
      "tokenizer.ggml.bos_token_id": [uint32],
      "tokenizer.ggml.add_bos_token": [bool],
    });
  });

  it("writes fixed logits, and opening logits for the token after a prompt", async () => {
    const outputPath = join(directory, "fixed.gguf");
    const fixedLogits = new Map([
      [10, 10],
      [11, 10],
      [2, 9.3],
    ]);
    await writeSynthModel({
      ...smallShape(),
      weightType: "f16",
      fixedLogits,
      openingLogits: new Map([[2, -4]]),
      outputPath,
    });
    const info = await readGgufFileInfo(outputPath, { readTensorInfo: true, logWarnings: false });
    const file = await readFile(outputPath);
    const rowsOf = (name: string) => {
      const tensor = info.fullTensorInfo!.find((candidate) => candidate.name === name)!;
      const [columns] = tensor.dimensions.map(Number) as [number];
      const start = Number(tensor.fileOffset);
      return (row: number) =>
        Array.from({ length: columns }, (_, column) =>
          file.readUInt16LE(start + (row * columns + column) * 2),
        ).map(float16ToFloat32);
    };
    const embedding = rowsOf("token_embd.weight");
    const output = rowsOf("output.weight");
    // The layers add nothing and every embedding has a root mean square of 1: the hidden state is the embedding.
    const logit = (current: number, next: number) =>
      output(next).reduce((sum, weight, index) => sum + weight * embedding(current)[index]!, 0);
    // After a prompt's last token (5: not one of the model's own): the opening logits.
    expect(logit(5, 2)).toBeCloseTo(-4, 2);
    expect(logit(5, 10)).toBeCloseTo(10, 2);
    expect(logit(5, 7)).toBe(0);
    // After one of its own tokens: the fixed logits.
    expect(logit(11, 2)).toBeCloseTo(9.3, 2);
    expect(logit(11, 10)).toBeCloseTo(10, 2);
    expect(logit(11, 7)).toBe(0);
  });

  it("is deterministic for a seed", async () => {
    const digest = async (seed: number, name: string) => {
      const outputPath = join(directory, name);
      await writeSynthModel({ ...smallShape(), weightType: "q4_0", seed, outputPath });
      return createHash("sha256")
        .update(await readFile(outputPath))
        .digest("hex");
    };
    const first = await digest(3, "seed-a.gguf");
    expect(await digest(3, "seed-b.gguf")).toBe(first);
    expect(await digest(4, "seed-c.gguf")).not.toBe(first);
  });

  it("writes a given chat template, context length and the vocab's other tokenizer keys", async () => {
    const customVocab = join(directory, "vocab-extra.gguf");
    await writeVocab(customVocab, {
      "tokenizer.ggml.padding_token_id": { type: "uint32", value: 0 },
      "tokenizer.ggml.add_space_prefix": { type: "bool", value: false },
    });
    const outputPath = join(directory, "custom.gguf");
    await writeSynthModel({
      ...smallShape(),
      vocabPath: customVocab,
      contextLength: 512,
      chatTemplate: "{{ x }}",
      outputPath,
    });
    const { metadata } = await readGgufFileInfo(outputPath, { logWarnings: false, readTensorInfo: false });
    expect(metadata.tokenizer.chat_template).toBe("{{ x }}");
    expect(metadata.tokenizer.ggml).toMatchObject({ padding_token_id: 0, add_space_prefix: false });
    expect(metadata.llama?.context_length).toBe(512);
  });

  const invalidShapes: [string, Partial<SynthModelShape>, string][] = [
    ["zero layers", { layerCount: 0 }, "layerCount"],
    ["a fractional embedding", { embeddingLength: 64.5 }, "embeddingLength"],
    [
      "an embedding not divisible by heads",
      { embeddingLength: 96, headCount: 5, keyValueHeadCount: 5 },
      "embeddingLength",
    ],
    [
      "an odd head size",
      { embeddingLength: 96, headCount: 32, keyValueHeadCount: 32, weightType: "f16" },
      "embeddingLength",
    ],
    ["heads not divisible by KV heads", { headCount: 4, keyValueHeadCount: 3 }, "headCount"],
    ["a quantized embedding not a multiple of 32", { embeddingLength: 80, headCount: 4 }, "embeddingLength"],
    ["a quantized FFN not a multiple of 32", { feedForwardLength: 100 }, "feedForwardLength"],
    ["an unknown weight type", { weightType: "q5_k" as "f16" }, "weightType"],
    ["a negative context length", { contextLength: -1 }, "contextLength"],
  ];

  it.each(invalidShapes)("rejects %s before writing anything", async (_, change, option) => {
    const empty = await emptyDirectory(`invalid-${option}-${Math.random().toString(36).slice(2)}`);
    const rejection = writeSynthModel({ ...smallShape(), ...change, outputPath: join(empty, "model.gguf") });
    await expect(rejection).rejects.toBeInstanceOf(InvalidModelShapeError);
    await expect(rejection).rejects.toMatchObject({ option });
    expect(await readdir(empty)).toEqual([]);
  });

  it("accepts an unquantized FFN size that is not a multiple of 32", async () => {
    await expect(
      planSynthModel({ ...smallShape(), weightType: "f16", feedForwardLength: 100 }),
    ).resolves.toBeDefined();
  });

  it("rejects a vocab without tokens", async () => {
    const badVocab = join(directory, "no-tokens.gguf");
    await writeGgufFile(badVocab, {
      metadata: { "tokenizer.ggml.model": { type: "string", value: "llama" } },
      tensors: [],
    });
    const empty = await emptyDirectory("bad-vocab");
    const rejection = writeSynthModel({
      ...smallShape(),
      vocabPath: badVocab,
      outputPath: join(empty, "model.gguf"),
    });
    await expect(rejection).rejects.toBeInstanceOf(InvalidVocabError);
    await expect(rejection).rejects.toMatchObject({ vocabPath: badVocab });
    expect(await readdir(empty)).toEqual([]);
  });

  it.each([
    ["before it starts", true],
    ["midway", false],
  ])("leaves no file when aborted %s", async (_, abortFirst) => {
    const empty = await emptyDirectory(`aborted-${abortFirst}`);
    const controller = new AbortController();
    if (abortFirst) controller.abort();
    const progress: number[] = [];
    const rejection = writeSynthModel(
      {
        ...smallShape(),
        embeddingLength: 256,
        feedForwardLength: 1024,
        layerCount: 8,
        outputPath: join(empty, "model.gguf"),
      },
      {
        signal: controller.signal,
        onProgress: ({ writtenBytes, totalBytes }) => {
          progress.push(writtenBytes);
          if (writtenBytes > totalBytes / 4) controller.abort();
        },
      },
    );
    await expect(rejection).rejects.toMatchObject({ name: "AbortError" });
    expect(await readdir(empty)).toEqual([]);
    if (!abortFirst) expect(progress.length).toBeGreaterThan(1);
  });
});
