import { endianness } from "node:os";

/** The ggml tensor types herd can write; the numbers are ggml's `enum ggml_type`. */
export const GgmlType = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8 } as const;
export type GgmlType = (typeof GgmlType)[keyof typeof GgmlType];

/** How many values one block holds and how many bytes it takes, per ggml's `type_traits`. */
export const ggmlTypeLayouts: Readonly<Record<GgmlType, { blockSize: number; blockBytes: number }>> = {
  [GgmlType.F32]: { blockSize: 1, blockBytes: 4 },
  [GgmlType.F16]: { blockSize: 1, blockBytes: 2 },
  [GgmlType.Q4_0]: { blockSize: 32, blockBytes: 18 },
  [GgmlType.Q8_0]: { blockSize: 32, blockBytes: 34 },
};

/** Bytes taken by `elementCount` values of `type`; the count must be a whole number of blocks. */
export function tensorByteSize(type: GgmlType, elementCount: number): number {
  const { blockSize, blockBytes } = ggmlTypeLayouts[type];
  if (!Number.isSafeInteger(elementCount) || elementCount < 0 || elementCount % blockSize !== 0) {
    throw new RangeError(
      `Expected a multiple of ${blockSize} values for ggml type ${type}, got ${elementCount}`,
    );
  }
  return (elementCount / blockSize) * blockBytes;
}

const float32Scratch = new Float32Array(1);
const float32Bits = new Uint32Array(float32Scratch.buffer);

/**
 * IEEE 754 half-precision bits of `value` (first rounded to float32), rounding to nearest even.
 * Overflow gives ±infinity, tiny values become subnormals or ±0, NaN stays a (quiet) NaN.
 * @example float32ToFloat16(1) === 0x3c00
 */
export function float32ToFloat16(value: number): number {
  float32Scratch[0] = value;
  const bits = float32Bits[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200 | (mantissa >>> 13));
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Subnormal half: shift the mantissa (with its implicit leading 1) right by the exponent deficit.
    if (halfExponent < -10) return sign;
    const shift = 14 - halfExponent;
    const full = mantissa | 0x800000;
    const remainder = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    const rounded = full >>> shift;
    // A carry out of the subnormal range lands exactly on the smallest normal, which is correct.
    return sign | (remainder > halfway || (remainder === halfway && rounded & 1) ? rounded + 1 : rounded);
  }
  const truncated = (halfExponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  // A carry into the exponent (even into infinity) is the right result of rounding up.
  return sign | (remainder > 0x1000 || (remainder === 0x1000 && truncated & 1) ? truncated + 1 : truncated);
}

/** The number a half-precision bit pattern stands for. */
export function float16ToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** splitmix32 step: spreads seeds that differ in few bits over the whole state. */
function splitMix32(value: number): number {
  let mixed = (value + 0x9e3779b9) | 0;
  mixed = Math.imul(mixed ^ (mixed >>> 16), 0x85ebca6b);
  mixed = Math.imul(mixed ^ (mixed >>> 13), 0xc2b2ae35);
  return (mixed ^ (mixed >>> 16)) >>> 0;
}

/**
 * Seed for one named stream of a seeded run, so each tensor's data depends on its name and the
 * run's seed but not on which tensors come before it.
 */
export function deriveSeed(seed: number, label: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < label.length; index++) {
    hash = Math.imul(hash ^ label.charCodeAt(index), 0x01000193);
  }
  return splitMix32((hash ^ splitMix32(seed >>> 0) ^ Math.floor(seed / 2 ** 32)) >>> 0);
}

/** xoshiro128** generator: fast, seedable, and good enough for weights nobody will read. */
export class SeededRandom {
  readonly #state = new Uint32Array(4);

  constructor(seed: number) {
    let mixed = (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32) >>> 0, 0x27d4eb2d);
    for (let index = 0; index < 4; index++) {
      mixed = splitMix32(mixed);
      this.#state[index] = mixed;
    }
    // The all-zero state is xoshiro's only fixed point.
    if (this.#state.every((word) => word === 0)) this.#state[0] = 1;
  }

  /** Fills `target` with the next `target.length` outputs; the state lives in locals for speed. */
  fill(target: Uint32Array): void {
    const state = this.#state;
    let s0 = state[0]!;
    let s1 = state[1]!;
    let s2 = state[2]!;
    let s3 = state[3]!;
    for (let index = 0; index < target.length; index++) {
      const scrambled = Math.imul(s1, 5);
      target[index] = Math.imul((scrambled << 7) | (scrambled >>> 25), 9);
      const shifted = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= shifted;
      s3 = (s3 << 11) | (s3 >>> 21);
    }
    state[0] = s0;
    state[1] = s1;
    state[2] = s2;
    state[3] = s3;
  }
}

/** Values to put in a tensor: uniform in [-range, range], or one constant (like norm weights of 1). */
export type TensorFill = { kind: "uniform"; range: number } | { kind: "constant"; value: number };

export type TensorDataOptions = {
  type: GgmlType;
  elementCount: number;
  fill: TensorFill;
  /** Same seed, same bytes, whatever `chunkBytes` is. */
  seed: number;
  /** Rough size of each yielded chunk. Default: 4 MiB. */
  chunkBytes?: number;
};

/**
 * Yields the ggml-encoded bytes of a tensor in chunks of about `chunkBytes`. Every chunk is a
 * fresh buffer, so a writer may still be writing one while the next is generated.
 * @example for (const chunk of generateTensorData({ type: GgmlType.F16, elementCount: 4096, fill: { kind: "uniform", range: 0.05 }, seed: 1 })) await handle.write(chunk);
 */
export function* generateTensorData(options: TensorDataOptions): Generator<Uint8Array> {
  if (endianness() !== "LE") throw new Error("Tensor data generation needs a little-endian machine");
  const { type, elementCount, fill } = options;
  const { blockSize, blockBytes } = ggmlTypeLayouts[type];
  const totalBytes = tensorByteSize(type, elementCount);
  // Chunks hold a multiple of 64 blocks so every chunk but the last is a whole number of 32-bit
  // words and the random stream does not depend on the chunk size.
  const blocksPerChunk = Math.max(64, Math.floor((options.chunkBytes ?? 4 << 20) / blockBytes / 64) * 64);
  const encode =
    fill.kind === "constant" ? constantEncoder(type, fill.value) : uniformEncoder(type, fill.range);
  const random = new SeededRandom(options.seed);
  for (let doneBlocks = 0; doneBlocks * blockBytes < totalBytes; doneBlocks += blocksPerChunk) {
    const blockCount = Math.min(blocksPerChunk, totalBytes / blockBytes - doneBlocks);
    const byteLength = blockCount * blockBytes;
    const chunk = new Uint8Array(Math.ceil(byteLength / 4) * 4);
    encode(chunk, blockCount * blockSize, random);
    yield chunk.subarray(0, byteLength);
  }
}

type ChunkEncoder = (chunk: Uint8Array, valueCount: number, random: SeededRandom) => void;

/**
 * Uniform values. The chunk is first filled with random words and then rewritten in place: F32
 * maps each word to a float, F16 looks each 16-bit half up in a table of 65,536 evenly spaced
 * halves, and the quantized types keep the random bytes as quants and stamp one scale per block.
 */
function uniformEncoder(type: GgmlType, range: number): ChunkEncoder {
  switch (type) {
    case GgmlType.F32:
      return (chunk, valueCount, random) => {
        const words = new Uint32Array(chunk.buffer, 0, valueCount);
        const floats = new Float32Array(chunk.buffer, 0, valueCount);
        random.fill(words);
        const step = (2 * range) / 2 ** 32;
        for (let index = 0; index < valueCount; index++) floats[index] = words[index]! * step - range;
      };
    case GgmlType.F16: {
      const table = new Uint16Array(65536);
      for (let index = 0; index < 65536; index++) {
        table[index] = float32ToFloat16(range * ((2 * index + 1) / 65536 - 1));
      }
      return (chunk, valueCount, random) => {
        const words = new Uint32Array(chunk.buffer, 0, Math.ceil(valueCount / 2));
        random.fill(words);
        for (let index = 0; index < words.length; index++) {
          const word = words[index]!;
          words[index] = table[word & 0xffff]! | (table[word >>> 16]! << 16);
        }
      };
    }
    case GgmlType.Q8_0:
      // Quants span [-127, 127] like ggml's own quantizer; -128 is nudged up so SIMD paths that
      // negate quants never overflow.
      return quantizedEncoder(34, float32ToFloat16(range / 127), {
        avoidMinus128: true,
        alternateSign: false,
      });
    case GgmlType.Q4_0:
      // Quants span [-8, 7] after ggml subtracts 8 from each nibble, which averages -0.5; odd blocks
      // flip the scale's sign so the weights still average zero.
      return quantizedEncoder(18, float32ToFloat16(range / 8), { avoidMinus128: false, alternateSign: true });
  }
}

function quantizedEncoder(
  blockBytes: number,
  scale: number,
  { avoidMinus128, alternateSign }: { avoidMinus128: boolean; alternateSign: boolean },
): ChunkEncoder {
  return (chunk, valueCount, random) => {
    random.fill(new Uint32Array(chunk.buffer, 0, chunk.length / 4));
    if (avoidMinus128) {
      for (let index = 0; index < chunk.length; index++) if (chunk[index] === 0x80) chunk[index] = 0x81;
    }
    const end = (valueCount / 32) * blockBytes;
    const oddScale = alternateSign ? scale ^ 0x8000 : scale;
    for (let offset = 0, block = 0; offset < end; offset += blockBytes, block++) {
      const blockScale = block & 1 ? oddScale : scale;
      chunk[offset] = blockScale & 0xff;
      chunk[offset + 1] = blockScale >>> 8;
    }
  };
}

/** Every value equal to `value`: quantized types use quant ±1 and the value as the scale, so it is exact. */
function constantEncoder(type: GgmlType, value: number): ChunkEncoder {
  switch (type) {
    case GgmlType.F32:
      return (chunk, valueCount) => new Float32Array(chunk.buffer, 0, valueCount).fill(value);
    case GgmlType.F16:
      return (chunk, valueCount) =>
        new Uint16Array(chunk.buffer, 0, valueCount).fill(float32ToFloat16(value));
    case GgmlType.Q8_0:
      return constantBlocks(34, float32ToFloat16(value), 1);
    case GgmlType.Q4_0:
      // Nibble 7 is quant -1, so the scale is -value.
      return constantBlocks(18, float32ToFloat16(-value), 0x77);
  }
}

function constantBlocks(blockBytes: number, scale: number, quantByte: number): ChunkEncoder {
  return (chunk, valueCount) => {
    const end = (valueCount / 32) * blockBytes;
    for (let offset = 0; offset < end; offset += blockBytes) {
      chunk[offset] = scale & 0xff;
      chunk[offset + 1] = scale >>> 8;
      chunk.fill(quantByte, offset + 2, offset + blockBytes);
    }
  };
}
