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
