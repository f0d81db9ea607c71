import { describe, expect, it } from "vitest";
import type { TensorFill } from "./tensor-blocks.js";
import {
  deriveSeed,
  float16ToFloat32,
  float32ToFloat16,
  GgmlType,
  generateTensorData,
  SeededRandom,
  tensorByteSize,
} from "./tensor-blocks.js";

function concat(chunks: Iterable<Uint8Array>): Uint8Array {
  return Buffer.concat([...chunks]);
}

/** Reference decoder written from the ggml block layouts, independent of the encoder. */
function decode(type: GgmlType, bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values: number[] = [];
  if (type === GgmlType.F32)
    for (let at = 0; at < bytes.length; at += 4) values.push(view.getFloat32(at, true));
  if (type === GgmlType.F16) {
    for (let at = 0; at < bytes.length; at += 2) values.push(float16ToFloat32(view.getUint16(at, true)));
  }
  if (type === GgmlType.Q8_0) {
    for (let at = 0; at < bytes.length; at += 34) {
      const scale = float16ToFloat32(view.getUint16(at, true));
      for (let index = 0; index < 32; index++) values.push(view.getInt8(at + 2 + index) * scale);
    }
  }
  if (type === GgmlType.Q4_0) {
    for (let at = 0; at < bytes.length; at += 18) {
      const scale = float16ToFloat32(view.getUint16(at, true));
      const block = new Array<number>(32);
      for (let index = 0; index < 16; index++) {
        const byte = view.getUint8(at + 2 + index);
        block[index] = ((byte & 0x0f) - 8) * scale;
        block[index + 16] = ((byte >> 4) - 8) * scale;
      }
      values.push(...block);
    }
  }
  return values;
}

describe("float32ToFloat16", () => {
  it.each([
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [0.1, 0x2e66],
    [1 / 3, 0x3555],
    [65504, 0x7bff],
    [65519, 0x7bff],
    [65520, 0x7c00],
    [1e10, 0x7c00],
    [Number.POSITIVE_INFINITY, 0x7c00],
    [Number.NEGATIVE_INFINITY, 0xfc00],
    [2 ** -14, 0x0400],
    [2 ** -14 - 2 ** -24, 0x03ff],
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000],
    [1.5 * 2 ** -25, 0x0001],
    [-(2 ** -26), 0x8000],
    [1e-40, 0x0000],
    [1 + 2 ** -11, 0x3c00],
    [1 + 3 * 2 ** -11, 0x3c02],
    [1 + 2 ** -11 + 2 ** -20, 0x3c01],
    [2047.5, 0x6800],
  ])("converts %d to %i", (value, bits) => {
    expect(float32ToFloat16(value)).toBe(bits);
  });

  it("keeps NaN a NaN", () => {
    const bits = float32ToFloat16(Number.NaN);
    expect(bits & 0x7c00).toBe(0x7c00);
    expect(bits & 0x03ff).not.toBe(0);
  });

  it("round-trips every non-NaN half through float16ToFloat32", () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const notANumber = (bits & 0x7c00) === 0x7c00 && (bits & 0x03ff) !== 0;
      if (!notANumber && float32ToFloat16(float16ToFloat32(bits)) !== bits) {
        expect.fail(
          `0x${bits.toString(16)} came back as 0x${float32ToFloat16(float16ToFloat32(bits)).toString(16)}`,
        );
      }
    }
  });
});

describe("tensorByteSize", () => {
  it.each([
    [GgmlType.F32, 64, 256],
    [GgmlType.F16, 64, 128],
    [GgmlType.F16, 3, 6],
    [GgmlType.Q8_0, 64, 68],
    [GgmlType.Q4_0, 64, 36],
  ])("type %i with %i values takes %i bytes", (type, count, bytes) => {
    expect(tensorByteSize(type, count)).toBe(bytes);
  });

  it("rejects partial blocks", () => {
    expect(() => tensorByteSize(GgmlType.Q8_0, 33)).toThrow(RangeError);
  });
});

describe("SeededRandom", () => {
  it("repeats for a seed and differs between seeds", () => {
    const draw = (seed: number) => {
      const words = new Uint32Array(8);
      new SeededRandom(seed).fill(words);
      return [...words];
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(2 ** 40)).not.toEqual(draw(0));
  });

  it("is roughly uniform", () => {
    const words = new Uint32Array(100_000);
    new SeededRandom(7).fill(words);
    const mean = words.reduce((sum, word) => sum + word / 2 ** 32, 0) / words.length;
    expect(mean).toBeCloseTo(0.5, 2);
  });

  it("derives different seeds for different labels", () => {
    expect(deriveSeed(1, "blk.0.attn_q.weight")).not.toBe(deriveSeed(1, "blk.0.attn_k.weight"));
    expect(deriveSeed(1, "output.weight")).toBe(deriveSeed(1, "output.weight"));
  });
});

describe("generateTensorData", () => {
  const types = [
    ["F32", GgmlType.F32],
    ["F16", GgmlType.F16],
    ["Q8_0", GgmlType.Q8_0],
    ["Q4_0", GgmlType.Q4_0],
  ] as const;
  const uniform: TensorFill = { kind: "uniform", range: 0.25 };

  it.each(types)(
    "%s: yields exactly the tensor's bytes, the same for a seed whatever the chunk size",
    (_, type) => {
      const elementCount = 32 * 1000;
      const whole = concat(generateTensorData({ type, elementCount, fill: uniform, seed: 5 }));
      const chunks = [
        ...generateTensorData({ type, elementCount, fill: uniform, seed: 5, chunkBytes: 1000 }),
      ];
      expect(whole.length).toBe(tensorByteSize(type, elementCount));
      expect(chunks.length).toBeGreaterThan(1);
      expect(concat(chunks)).toEqual(whole);
      expect(concat(generateTensorData({ type, elementCount, fill: uniform, seed: 6 }))).not.toEqual(whole);
    },
  );

  it.each(types)("%s: uniform values stay within the range and average zero", (_, type) => {
    const values = decode(
      type,
      concat(generateTensorData({ type, elementCount: 32 * 4096, fill: uniform, seed: 9 })),
    );
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    const deviation = Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length);
    expect(values.every((value) => Math.abs(value) <= 0.25 * 1.01)).toBe(true);
    expect(Math.abs(mean)).toBeLessThan(0.005);
    // Uniform on ±r has standard deviation r / sqrt(3).
    expect(deviation).toBeCloseTo(0.25 / Math.sqrt(3), 2);
  });

  it.each(types)("%s: a constant fill decodes to exactly that constant", (_, type) => {
    const values = decode(
      type,
      concat(generateTensorData({ type, elementCount: 96, fill: { kind: "constant", value: 1 }, seed: 0 })),
    );
    expect(values).toEqual(new Array(96).fill(1));
  });

  it("lays out Q4_0 blocks as a scale then low nibbles for values 0-15 and high nibbles for 16-31", () => {
    const block = concat(
      generateTensorData({
        type: GgmlType.Q4_0,
        elementCount: 32,
        fill: { kind: "constant", value: 2 },
        seed: 0,
      }),
    );
    expect([...block]).toEqual([0x00, 0xc0, ...new Array(16).fill(0x77)]);
  });

  it("lays out Q8_0 blocks as a scale then 32 signed quants", () => {
    const block = concat(
      generateTensorData({
        type: GgmlType.Q8_0,
        elementCount: 32,
        fill: { kind: "constant", value: 2 },
        seed: 0,
      }),
    );
    expect([...block]).toEqual([0x00, 0x40, ...new Array(32).fill(1)]);
  });

  it("handles an odd F16 element count", () => {
    const bytes = concat(generateTensorData({ type: GgmlType.F16, elementCount: 5, fill: uniform, seed: 1 }));
    expect(bytes.length).toBe(10);
  });
});
