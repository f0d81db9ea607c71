import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GgufContent, GgufTensor, GgufValue, GgufWriteProgress } from "./gguf-writer.js";
import { InvalidGgufContentError, planGgufFile, writeGgufFile } from "./gguf-writer.js";
import { GgmlType, generateTensorData } from "./tensor-blocks.js";

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "herd-gguf-writer-"));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const metadata: Record<string, GgufValue> = {
  "general.architecture": { type: "string", value: "llama" },
  "test.uint8": { type: "uint8", value: 255 },
  "test.int8": { type: "int8", value: -128 },
  "test.uint16": { type: "uint16", value: 65535 },
  "test.int16": { type: "int16", value: -32768 },
  "test.uint32": { type: "uint32", value: 4294967295 },
  "test.int32": { type: "int32", value: -2147483648 },
  "test.uint64": { type: "uint64", value: 2n ** 63n },
  "test.int64": { type: "int64", value: -5 },
  "test.float32": { type: "float32", value: 0.5 },
  "test.float64": { type: "float64", value: Math.PI },
  "test.bool": { type: "bool", value: true },
  "test.string": { type: "string", value: "héllo ✓" },
  "test.strings": { type: "array", itemType: "string", value: ["a", "", "ünïcode"] },
  "test.floats": { type: "array", itemType: "float32", value: new Float32Array([1.5, -2]) },
  "test.ints": { type: "array", itemType: "int32", value: [1, -1, 7] },
  "test.empty": { type: "array", itemType: "uint8", value: [] },
};

function tensor(name: string, dimensions: number[], type: GgmlType, seed = 1): GgufTensor {
  const elementCount = dimensions.reduce((product, size) => product * size, 1);
  return {
    name,
    dimensions,
    type,
    data: generateTensorData({
      type,
      elementCount,
      fill: { kind: "uniform", range: 1 },
      seed,
      chunkBytes: 256,
    }),
  };
}

function tensors(): GgufTensor[] {
  return [
    tensor("norm", [3], GgmlType.F32),
    tensor("half", [5, 3], GgmlType.F16),
    tensor("q8", [64, 2], GgmlType.Q8_0),
    tensor("q4", [32, 3, 2], GgmlType.Q4_0),
  ];
}

describe("writeGgufFile", () => {
  it("writes the GGUF v3 header: magic, version, tensor count, key/value count", async () => {
    const path = join(directory, "header.gguf");
    await writeGgufFile(path, { metadata, tensors: tensors() });
    const view = new DataView((await readFile(path)).buffer);
    expect(view.getUint32(0, false)).toBe(0x47475546); // "GGUF"
    expect(view.getUint32(4, true)).toBe(3);
    expect(view.getBigUint64(8, true)).toBe(4n);
    // The writer adds general.alignment.
    expect(view.getBigUint64(16, true)).toBe(BigInt(Object.keys(metadata).length + 1));
  });

  it.each([8, 32, 256])(
    "round-trips metadata and tensors through node-llama-cpp with alignment %i",
    async (alignment) => {
      const path = join(directory, `round-trip-${alignment}.gguf`);
      const progress: GgufWriteProgress[] = [];
      const plan = await writeGgufFile(
        path,
        { metadata, tensors: tensors(), alignment },
        { onProgress: (update) => progress.push(update) },
      );
      expect((await stat(path)).size).toBe(plan.totalBytes);
      expect(progress.at(-1)).toEqual({ writtenBytes: plan.totalBytes, totalBytes: plan.totalBytes });

      const info = await readGgufFileInfo(path, { logWarnings: false });
      const read = info.metadata as unknown as Record<string, Record<string, unknown>>;
      expect(info.version).toBe(3);
      expect(read.general).toEqual({ architecture: "llama", alignment });
      expect(read.test).toEqual({
        uint8: 255,
        int8: -128,
        uint16: 65535,
        int16: -32768,
        uint32: 4294967295,
        int32: -2147483648,
        uint64: 2n ** 63n,
        int64: -5n,
        float32: 0.5,
        float64: Math.PI,
        bool: true,
        string: "héllo ✓",
        strings: ["a", "", "ünïcode"],
        floats: [1.5, -2],
        ints: [1, -1, 7],
        empty: [],
      });
      expect(info.infoEndOffset).toBe(plan.dataOffset);
      expect(plan.dataOffset % alignment).toBe(0);

      const bytes = await readFile(path);
      const expected = tensors();
      expect(
        info.tensorInfo?.map(({ name, dimensions, ggmlType }) => ({ name, dimensions, ggmlType })),
      ).toEqual(expected.map(({ name, dimensions, type }) => ({ name, dimensions, ggmlType: type })));
      for (const [index, tensorInfo] of (info.tensorInfo ?? []).entries()) {
        const planned = plan.tensors[index]!;
        expect(tensorInfo.offset).toBe(planned.offset);
        expect(Number(tensorInfo.fileOffset) % alignment).toBe(0);
        const data = Buffer.concat([...(expected[index]!.data as Iterable<Uint8Array>)]);
        const start = Number(tensorInfo.fileOffset);
        expect(bytes.subarray(start, start + planned.byteSize)).toEqual(data);
      }
    },
  );

  it("accepts async data sources", async () => {
    const path = join(directory, "async.gguf");
    async function* data() {
      yield new Uint8Array([0, 0, 128, 63]);
      yield new Uint8Array([0, 0, 0, 64]);
    }
    await writeGgufFile(path, {
      metadata: {},
      tensors: [{ name: "pair", dimensions: [2], type: GgmlType.F32, data: data() }],
    });
    const info = await readGgufFileInfo(path, { logWarnings: false });
    const start = Number(info.tensorInfo?.[0]?.fileOffset);
    expect(new Float32Array((await readFile(path)).buffer.slice(start, start + 8))).toEqual(
      new Float32Array([1, 2]),
    );
  });

  it("rejects data of the wrong length", async () => {
    const content = {
      metadata: {},
      tensors: [{ name: "short", dimensions: [4], type: GgmlType.F32, data: [new Uint8Array(12)] }],
    };
    const rejection = writeGgufFile(join(directory, "short.gguf"), content);
    await expect(rejection).rejects.toBeInstanceOf(InvalidGgufContentError);
    await expect(rejection).rejects.toMatchObject({ subject: "short", expected: "16 bytes of data" });
  });

  it("stops when aborted", async () => {
    const controller = new AbortController();
    const rejection = writeGgufFile(
      join(directory, "aborted.gguf"),
      { metadata, tensors: [tensor("big", [32, 100_000], GgmlType.Q8_0)] },
      { signal: controller.signal, onProgress: () => controller.abort() },
    );
    await expect(rejection).rejects.toMatchObject({ name: "AbortError" });
  });
});

describe("planGgufFile", () => {
  const f32 = (name: string, dimensions: number[], type: GgmlType = GgmlType.F32) => ({
    name,
    dimensions,
    type,
  });
  const cases: [string, GgufContent, string][] = [
    ["a value outside its type", { metadata: { "x.y": { type: "uint8", value: 256 } }, tensors: [] }, "x.y"],
    ["a fractional integer", { metadata: { "x.y": { type: "uint64", value: 1.5 } }, tensors: [] }, "x.y"],
    [
      "a bad array item",
      { metadata: { "x.y": { type: "array", itemType: "int8", value: [1, 200] } }, tensors: [] },
      "x.y",
    ],
    [
      "an alignment that is not a power of two",
      { metadata: {}, tensors: [], alignment: 48 },
      "general.alignment",
    ],
    [
      "general.alignment in metadata",
      { metadata: { "general.alignment": { type: "uint32", value: 32 } }, tensors: [] },
      "general.alignment",
    ],
    ["a duplicate tensor name", { metadata: {}, tensors: [f32("a", [1]), f32("a", [2])] }, "a"],
    ["a zero dimension", { metadata: {}, tensors: [f32("zero", [4, 0])] }, "zero"],
    ["five dimensions", { metadata: {}, tensors: [f32("deep", [1, 1, 1, 1, 1])] }, "deep"],
    ["a partial quantized block", { metadata: {}, tensors: [f32("q", [48, 2], GgmlType.Q4_0)] }, "q"],
  ];

  it.each(cases)("rejects %s", (_, content, subject) => {
    expect(() => planGgufFile(content)).toThrow(InvalidGgufContentError);
    expect(() => planGgufFile(content)).toThrow(expect.objectContaining({ subject }));
  });

  it("aligns every tensor and sums to the file size", () => {
    const plan = planGgufFile({
      metadata: {},
      tensors: [f32("a", [3]), f32("b", [5]), f32("c", [8])],
      alignment: 16,
    });
    expect(plan.tensors.map(({ offset, byteSize }) => [offset, byteSize])).toEqual([
      [0, 12],
      [16, 20],
      [48, 32],
    ]);
    expect(plan.totalBytes).toBe(plan.dataOffset + 80);
  });
});
