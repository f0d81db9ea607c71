import { type FileHandle, open } from "node:fs/promises";

/** Limits far above any real model (the largest have a few thousand tensors and a few dozen keys). */
const maxTensorCount = 1_000_000;
const maxKeyValueCount = 1_000_000;
const maxKeyLength = 65_535;
/** ggml tensors have at most 4 dimensions. */
const maxDimensions = 4;
const maxElementsPerTensor = 2n ** 50n;
const maxArrayNesting = 4;

/** Smallest encoding of each GGUF value type, in bytes (a string is at least its length). */
const minimumValueBytes: Record<number, number> = {
  0: 1,
  1: 1,
  2: 2,
  3: 2,
  4: 4,
  5: 4,
  6: 4,
  7: 1,
  8: 8,
  9: 12,
  10: 8,
  11: 8,
  12: 8,
};

/**
 * Walks a GGUF header (magic, counts, every key and value, every tensor's description) checking each
 * count and length against the bytes the file actually has, before node-llama-cpp's reader sees it.
 * That reader trusts the header: a 64-byte file announcing a 3 GiB string makes it allocate (and
 * Node abort), and one announcing 2^40 keys makes it read zeros past the end for ever. Here nothing
 * larger than a 1 MiB read buffer is allocated, and every loop is bounded by the file's size.
 * Returns the problem in words, or undefined when the header is sound.
 */
export async function checkGgufHeader(path: string): Promise<string | undefined> {
  const handle = await open(path, "r");
  try {
    const reader = new BoundedReader(handle, (await handle.stat()).size);
    return await walkHeader(reader);
  } catch (error) {
    if (error instanceof HeaderProblem) return error.message;
    throw error;
  } finally {
    await handle.close();
  }
}

async function walkHeader(reader: BoundedReader): Promise<string | undefined> {
  if (reader.size < 4) return `only ${reader.size} bytes, too short for a GGUF header`;
  await reader.ensure(4);
  const magic = reader.bytes(4).toString("latin1");
  if (magic !== "GGUF") return "it does not start with 'GGUF'";
  if (reader.size < 24) return `only ${reader.size} bytes, too short for a GGUF header`;
  await reader.ensure(20);
  const version = reader.u32();
  if (version !== 2 && version !== 3) return `GGUF version ${version} is not supported (2 and 3 are)`;
  const tensorCount = reader.u64();
  const keyValueCount = reader.u64();
  if (tensorCount > BigInt(maxTensorCount)) return `the header announces ${tensorCount} tensors`;
  if (keyValueCount > BigInt(maxKeyValueCount)) return `the header announces ${keyValueCount} metadata keys`;
  for (let index = 0n; index < keyValueCount; index++) {
    await reader.ensure(8);
    const keyLength = reader.u64();
    if (keyLength > BigInt(maxKeyLength)) return `metadata key ${index} is ${keyLength} bytes long`;
    reader.skip(keyLength, `metadata key ${index}`);
    await reader.ensure(4);
    await skipValue(reader, reader.u32(), 0);
  }
  for (let index = 0n; index < tensorCount; index++) {
    await reader.ensure(8);
    reader.skip(reader.u64(), `the name of tensor ${index}`);
    await reader.ensure(4);
    const dimensions = reader.u32();
    if (dimensions < 1 || dimensions > maxDimensions) return `tensor ${index} has ${dimensions} dimensions`;
    let elements = 1n;
    await reader.ensure(8 * dimensions + 12);
    for (let dimension = 0; dimension < dimensions; dimension++) elements *= reader.u64();
    if (elements > maxElementsPerTensor) return `tensor ${index} has ${elements} elements`;
    const type = reader.u32();
    if (type > 255) return `tensor ${index} has type ${type}`;
    // Its offset into the data: whether the data is all there is checked once the header is read.
    reader.u64();
  }
  return undefined;
}

async function skipValue(reader: BoundedReader, type: number, depth: number): Promise<void> {
  const size = minimumValueBytes[type];
  if (size === undefined) throw new HeaderProblem(`unknown metadata value type ${type}`);
  if (type === 8) {
    await reader.ensure(8);
    return reader.skip(reader.u64(), "a string value");
  }
  if (type !== 9) return reader.skip(BigInt(size), "a value");
  if (depth >= maxArrayNesting) throw new HeaderProblem("metadata arrays nested too deep");
  await reader.ensure(12);
  const elementType = reader.u32();
  const count = reader.u64();
  const elementSize = minimumValueBytes[elementType];
  if (elementSize === undefined) throw new HeaderProblem(`unknown metadata array type ${elementType}`);
  // Even the smallest elements must fit in what is left of the file, so the count fits in a number.
  reader.checkRemaining(count * BigInt(elementSize), `an array of ${count} elements`);
  if (elementType !== 8 && elementType !== 9) return reader.skip(count * BigInt(elementSize), "an array");
  const elements = Number(count);
  if (elementType === 8) {
    // A vocabulary is hundreds of thousands of strings: each length is read from the buffer as it
    // is, waiting only for the next buffer (a promise per string cost a Llama 3 vocabulary about 1 s).
    for (let index = 0; index < elements; index++) {
      if (!reader.holds(8)) await reader.ensure(8);
      reader.skip(reader.u64(), "a string value");
    }
    return;
  }
  for (let index = 0; index < elements; index++) await skipValue(reader, elementType, depth + 1);
}

class HeaderProblem extends Error {}

/**
 * Sequential reads from a file that refuse to go past its end, through one small buffer. `ensure`
 * loads what the next reads need; the reads themselves are synchronous.
 */
class BoundedReader {
  private buffer = Buffer.alloc(0);
  private bufferStart = 0;
  private position = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  checkRemaining(length: bigint, what: string): void {
    const remaining = BigInt(this.size - this.position);
    if (length > remaining) {
      throw new HeaderProblem(
        `truncated inside its header: ${what} at offset ${this.position} needs ${length} bytes, the file ends ${remaining} bytes later`,
      );
    }
  }

  skip(length: bigint, what: string): void {
    this.checkRemaining(length, what);
    this.position += Number(length);
  }

  /** Whether the buffer holds the next `length` bytes. */
  holds(length: number): boolean {
    return (
      this.position >= this.bufferStart && this.position + length <= this.bufferStart + this.buffer.length
    );
  }

  /** Loads the next `length` bytes (and up to 1 MiB after them) unless the buffer holds them. */
  async ensure(length: number): Promise<void> {
    this.checkRemaining(BigInt(length), "the header");
    if (this.holds(length)) return;
    const chunk = Math.min(Math.max(length, 1 << 20), this.size - this.position);
    this.buffer = Buffer.alloc(chunk);
    await this.handle.read(this.buffer, 0, chunk, this.position);
    this.bufferStart = this.position;
  }

  /** The next `length` bytes, which `ensure` has loaded (and so checked against the file's end). */
  bytes(length: number): Buffer {
    if (!this.holds(length)) throw new Error(`BoundedReader: ${length} bytes read before they were loaded`);
    const start = this.position - this.bufferStart;
    this.position += length;
    return this.buffer.subarray(start, start + length);
  }

  u32(): number {
    return this.bytes(4).readUInt32LE(0);
  }

  u64(): bigint {
    return this.bytes(8).readBigUInt64LE(0);
  }
}
