import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import type { GgmlType } from "./tensor-blocks.js";
import { ggmlTypeLayouts, tensorByteSize } from "./tensor-blocks.js";

/** GGUF value type ids, per the GGUF spec's `gguf_metadata_value_type`. */
const valueTypeIds = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;

type ScalarValues = {
  uint8: number;
  int8: number;
  uint16: number;
  int16: number;
  uint32: number;
  int32: number;
  uint64: number | bigint;
  int64: number | bigint;
  float32: number;
  float64: number;
  bool: boolean;
  string: string;
};
export type GgufScalarType = keyof ScalarValues;

/** A metadata value with its GGUF type spelled out, because JavaScript numbers do not say which one. */
export type GgufValue =
  | { [Type in GgufScalarType]: { readonly type: Type; readonly value: ScalarValues[Type] } }[GgufScalarType]
  | {
      [Type in GgufScalarType]: {
        readonly type: "array";
        readonly itemType: Type;
        readonly value: ArrayLike<ScalarValues[Type]>;
      };
    }[GgufScalarType];

/** Where a tensor sits and what it holds; `dimensions` lists ne0 (the contiguous one) first. */
export type GgufTensorInfo = {
  readonly name: string;
  readonly dimensions: readonly number[];
  readonly type: GgmlType;
};

export type GgufTensor = GgufTensorInfo & {
  /** The tensor's bytes, in order, exactly `tensorByteSize` of them; read lazily while writing. */
  readonly data: Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
};

export type GgufContent<Tensor extends GgufTensorInfo = GgufTensorInfo> = {
  /** Written in insertion order. `general.alignment` is added by the writer. */
  readonly metadata: Readonly<Record<string, GgufValue>>;
  readonly tensors: readonly Tensor[];
  /** Alignment of the tensor data section and of each tensor in it. Default: 32. */
  readonly alignment?: number;
};

export type GgufPlannedTensor = GgufTensorInfo & {
  /** Offset from the start of the tensor data section. */
  readonly offset: number;
  readonly byteSize: number;
};

export type GgufFilePlan = {
  /** Header, metadata, tensor infos and padding: the file's first `dataOffset` bytes. */
  readonly header: Uint8Array;
  readonly dataOffset: number;
  readonly tensors: readonly GgufPlannedTensor[];
  readonly totalBytes: number;
};

export type GgufWriteProgress = { readonly writtenBytes: number; readonly totalBytes: number };

/** Content that GGUF cannot represent or that llama.cpp would refuse. */
export class InvalidGgufContentError extends Error {
  override readonly name = "InvalidGgufContentError";

  constructor(
    /** The metadata key or tensor name at fault. */
    readonly subject: string,
    readonly expected: string,
    readonly found: unknown,
    options?: ErrorOptions,
  ) {
    super(`${subject}: expected ${expected}, found ${describe(found)}`, options);
  }
}

function describe(found: unknown): string {
  if (typeof found === "bigint") return `${found}n`;
  if (typeof found === "string") return JSON.stringify(found.length > 80 ? `${found.slice(0, 80)}…` : found);
  if (Array.isArray(found)) return `[${found.join(", ")}]`;
  return String(found);
}

/**
 * Lays out a GGUF v3 file without writing it: the encoded header and where each tensor goes.
 * Throws `InvalidGgufContentError` for values outside their type, duplicate names, or shapes ggml rejects.
 */
export function planGgufFile(content: GgufContent): GgufFilePlan {
  const alignment = content.alignment ?? 32;
  if (!Number.isSafeInteger(alignment) || alignment < 1 || (alignment & (alignment - 1)) !== 0) {
    throw new InvalidGgufContentError("general.alignment", "a power of two", alignment);
  }
  if ("general.alignment" in content.metadata) {
    throw new InvalidGgufContentError(
      "general.alignment",
      "the alignment option, not a metadata entry",
      "both",
    );
  }
  const metadata: [string, GgufValue][] = [
    ...Object.entries(content.metadata),
    ["general.alignment", { type: "uint32", value: alignment }],
  ];
  const builder = new ByteBuilder();
  builder.bytes(Buffer.from("GGUF", "latin1"));
  builder.scalar("uint32", 3);
  builder.scalar("uint64", content.tensors.length);
  builder.scalar("uint64", metadata.length);
  for (const [key, value] of metadata) {
    builder.scalar("string", key);
    try {
      builder.value(value);
    } catch (error) {
      throw new InvalidGgufContentError(key, `a valid ${valueName(value)}`, truncatedValue(value), {
        cause: error,
      });
    }
  }

  const names = new Set<string>();
  const tensors: GgufPlannedTensor[] = [];
  let offset = 0;
  for (const tensor of content.tensors) {
    if (names.has(tensor.name))
      throw new InvalidGgufContentError(tensor.name, "a unique tensor name", "a duplicate");
    names.add(tensor.name);
    const byteSize = checkedByteSize(tensor);
    tensors.push({ name: tensor.name, dimensions: tensor.dimensions, type: tensor.type, offset, byteSize });
    builder.scalar("string", tensor.name);
    builder.scalar("uint32", tensor.dimensions.length);
    for (const dimension of tensor.dimensions) builder.scalar("uint64", dimension);
    builder.scalar("uint32", tensor.type);
    builder.scalar("uint64", offset);
    offset += alignUp(byteSize, alignment);
  }
  builder.bytes(new Uint8Array(alignUp(builder.length, alignment) - builder.length));
  const header = builder.result();
  return { header, dataOffset: header.length, tensors, totalBytes: header.length + offset };
}

function checkedByteSize(tensor: GgufTensorInfo): number {
  const { dimensions, type, name } = tensor;
  if (!(type in ggmlTypeLayouts))
    throw new InvalidGgufContentError(name, "ggml type F32, F16, Q4_0 or Q8_0", type);
  if (dimensions.length < 1 || dimensions.length > 4) {
    throw new InvalidGgufContentError(name, "1 to 4 dimensions", dimensions);
  }
  if (!dimensions.every((dimension) => Number.isSafeInteger(dimension) && dimension > 0)) {
    throw new InvalidGgufContentError(name, "positive integer dimensions", dimensions);
  }
  const { blockSize } = ggmlTypeLayouts[type];
  if (dimensions[0]! % blockSize !== 0) {
    throw new InvalidGgufContentError(
      name,
      `a first dimension that is a multiple of ${blockSize}`,
      dimensions,
    );
  }
  return tensorByteSize(
    type,
    dimensions.reduce((product, dimension) => product * dimension, 1),
  );
}

function valueName(value: GgufValue): string {
  return value.type === "array" ? `array of ${value.itemType}` : value.type;
}

function truncatedValue(value: GgufValue): unknown {
  return value.type === "array" ? `${value.value.length} items` : value.value;
}

function alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
}

export type GgufWriteOptions = {
  signal?: AbortSignal;
  onProgress?: (progress: GgufWriteProgress) => void;
};

/**
 * Writes a GGUF v3 file at `path` (replacing any file there), pulling each tensor's data as it
 * goes so multi-gigabyte files never sit in memory. One write is in flight while the next chunk
 * is produced. On failure or abort the partly written file is left for the caller to remove.
 * @example await writeGgufFile("tiny.gguf", { metadata: { "general.architecture": { type: "string", value: "llama" } }, tensors: [] });
 */
export async function writeGgufFile(
  path: string,
  content: GgufContent<GgufTensor>,
  { signal, onProgress }: GgufWriteOptions = {},
): Promise<GgufFilePlan> {
  signal?.throwIfAborted();
  const plan = planGgufFile(content);
  const handle = await open(path, "w");
  const padding = new Uint8Array(content.alignment ?? 32);
  let position = 0;
  let writtenBytes = 0;
  let pending: Promise<void> = Promise.resolve();
  const enqueue = async (bytes: Uint8Array): Promise<void> => {
    await pending;
    signal?.throwIfAborted();
    const start = position;
    position += bytes.length;
    pending = writeFully(handle, bytes, start).then(() => {
      writtenBytes += bytes.length;
      onProgress?.({ writtenBytes, totalBytes: plan.totalBytes });
    });
    // Marks the rejection as handled while a chunk is being produced; `await pending` still throws it.
    pending.catch(() => {});
  };
  try {
    await enqueue(plan.header);
    for (const [index, tensor] of content.tensors.entries()) {
      const planned = plan.tensors[index]!;
      let tensorBytes = 0;
      for await (const chunk of tensor.data) {
        tensorBytes += chunk.length;
        if (tensorBytes > planned.byteSize) break;
        await enqueue(chunk);
      }
      if (tensorBytes !== planned.byteSize) {
        throw new InvalidGgufContentError(tensor.name, `${planned.byteSize} bytes of data`, `${tensorBytes}`);
      }
      const paddingBytes = alignUp(planned.byteSize, padding.length) - planned.byteSize;
      if (paddingBytes > 0) await enqueue(padding.subarray(0, paddingBytes));
    }
    await pending;
  } catch (error) {
    // The in-flight write's own failure, if any, matters less than the error that stopped us.
    await pending.catch(() => {});
    throw error;
  } finally {
    await handle.close();
  }
  return plan;
}

async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/** Growable little-endian buffer for the header; Buffer's writers range-check every number. */
class ByteBuilder {
  #buffer = Buffer.allocUnsafe(64 * 1024);
  length = 0;

  #reserve(byteCount: number): number {
    const start = this.length;
    if (start + byteCount > this.#buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, start + byteCount));
      this.#buffer.copy(grown, 0, 0, start);
      this.#buffer = grown;
    }
    this.length += byteCount;
    return start;
  }

  bytes(bytes: Uint8Array): void {
    const at = this.#reserve(bytes.length);
    this.#buffer.set(bytes, at);
  }

  value(value: GgufValue): void {
    this.scalar("uint32", valueTypeIds[value.type]);
    if (value.type !== "array") {
      this.scalar(value.type, value.value);
      return;
    }
    this.scalar("uint32", valueTypeIds[value.itemType]);
    this.scalar("uint64", value.value.length);
    for (let index = 0; index < value.value.length; index++) {
      this.scalar(value.itemType, value.value[index]!);
    }
  }

  scalar<Type extends GgufScalarType>(type: Type, value: ScalarValues[Type]): void;
  scalar(type: GgufScalarType, value: number | bigint | boolean | string): void {
    if (type === "string") {
      const byteLength = Buffer.byteLength(value as string, "utf8");
      this.scalar("uint64", byteLength);
      const at = this.#reserve(byteLength);
      this.#buffer.write(value as string, at, byteLength, "utf8");
      return;
    }
    if (type === "bool" && typeof value !== "boolean")
      throw new TypeError(`Expected a boolean, got ${typeof value}`);
    const [byteSize, write] = scalarWriters[type];
    // Reserve first: it may swap in a bigger buffer.
    const at = this.#reserve(byteSize);
    write(this.#buffer, value, at);
  }

  result(): Uint8Array {
    return this.#buffer.subarray(0, this.length);
  }
}

type ScalarWriter = readonly [byteSize: number, write: (buffer: Buffer, value: unknown, at: number) => void];

const scalarWriters: Record<Exclude<GgufScalarType, "string">, ScalarWriter> = {
  bool: [1, (buffer, value, at) => buffer.writeUInt8(value ? 1 : 0, at)],
  uint8: [1, (buffer, value, at) => buffer.writeUInt8(value as number, at)],
  int8: [1, (buffer, value, at) => buffer.writeInt8(value as number, at)],
  uint16: [2, (buffer, value, at) => buffer.writeUInt16LE(value as number, at)],
  int16: [2, (buffer, value, at) => buffer.writeInt16LE(value as number, at)],
  uint32: [4, (buffer, value, at) => buffer.writeUInt32LE(value as number, at)],
  int32: [4, (buffer, value, at) => buffer.writeInt32LE(value as number, at)],
  uint64: [8, (buffer, value, at) => buffer.writeBigUInt64LE(BigInt(value as number | bigint), at)],
  int64: [8, (buffer, value, at) => buffer.writeBigInt64LE(BigInt(value as number | bigint), at)],
  float32: [4, (buffer, value, at) => buffer.writeFloatLE(value as number, at)],
  float64: [8, (buffer, value, at) => buffer.writeDoubleLE(value as number, at)],
};
