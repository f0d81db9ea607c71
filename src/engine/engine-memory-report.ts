import type { InstanceStatus } from "../protocol/instance.js";

/** What llama.cpp says it allocated on one device while loading (its "buffer size" lines). */
export interface EngineBufferReport {
  /** llama.cpp's buffer name: `CPU`, `CPU_Mapped`, `CUDA0`, `RPC0[127.0.0.1:40123]`, ... */
  buffer: string;
  kind: "weights" | "kv" | "compute" | "output";
  bytes: number;
}

const kinds = { model: "weights", KV: "kv", compute: "compute", output: "output" } as const;
const bufferLine = /\s(\S+)\s+(model|KV|compute|output) buffer size =\s+([\d.]+) MiB/;

/**
 * Reads one line of llama-server's log (printed at verbosity 4 and above):
 * `load_tensors:   CPU_Mapped model buffer size =   608.00 MiB`.
 */
export function parseBufferReport(line: string): EngineBufferReport | undefined {
  // Every line the engine writes comes here, some 25 per request: most are turned away without the pattern.
  if (!line.includes(" buffer size")) return undefined;
  const match = bufferLine.exec(line);
  if (!match) return undefined;
  return {
    buffer: match[1]!,
    kind: kinds[match[2] as keyof typeof kinds],
    bytes: Math.round(Number(match[3]) * 1024 * 1024),
  };
}

/**
 * Which `--rpc` endpoint a buffer lives behind (its index in that list), or `undefined` for the
 * head's own memory. llama.cpp names RPC buffers `RPC<device>[<endpoint>]`.
 */
export function rpcEndpointOf(buffer: string, endpoints: readonly string[]): number | undefined {
  const match = /^RPC\d+\[(.+)\]$/.exec(buffer);
  if (!match) return undefined;
  const index = endpoints.indexOf(match[1]!);
  return index === -1 ? undefined : index;
}

type PlaceMemory = NonNullable<InstanceStatus["engineMemory"]>[number];

/**
 * Host buffers holding rearranged copies of weights for faster CPU kernels (llama.cpp's "extra"
 * buffer types: `CPU_REPACK`, `AMX`, and `CPU_AARCH64` in older builds).
 */
const repackedBuffer = /REPACK|AMX|AARCH64|KLEIDIAI/i;

/**
 * The engine's buffer reports summed per place: the head's own memory, then each RPC server's.
 *
 * With the model memory-mapped, llama.cpp reports the mapped span of the file (`CPU_Mapped`) and,
 * separately, the copies it made of the tensors it repacked. The mapped pages of a repacked tensor
 * are page cache the kernel can drop, not memory the engine holds, so they are not counted twice: a
 * 405 MiB q4_0 model reported 405 MiB mapped plus 405 MiB repacked, and holds about 405 MiB.
 */
export function engineMemoryByPlace(
  buffers: EngineBufferReport[],
  endpoints: readonly string[],
): PlaceMemory[] {
  const places = new Map<number | undefined, PlaceMemory & { mappedBytes: number; repackedBytes: number }>();
  for (const buffer of buffers) {
    const rpcIndex = rpcEndpointOf(buffer.buffer, endpoints);
    let place = places.get(rpcIndex);
    if (!place) {
      place = {
        ...(rpcIndex === undefined ? {} : { rpcIndex }),
        weightBytes: 0,
        kvBytes: 0,
        computeBytes: 0,
        mappedBytes: 0,
        repackedBytes: 0,
      };
      places.set(rpcIndex, place);
    }
    if (buffer.kind === "weights") {
      if (buffer.buffer.endsWith("_Mapped")) place.mappedBytes += buffer.bytes;
      else if (repackedBuffer.test(buffer.buffer)) place.repackedBytes += buffer.bytes;
      else place.weightBytes += buffer.bytes;
    } else if (buffer.kind === "kv") place.kvBytes += buffer.bytes;
    else place.computeBytes += buffer.bytes;
  }
  return [...places.values()].map(({ mappedBytes, repackedBytes, ...place }) => ({
    ...place,
    weightBytes: place.weightBytes + repackedBytes + Math.max(0, mappedBytes - repackedBytes),
  }));
}
