import { connect, type Socket } from "node:net";
import { abortAfter } from "../util/abort-after.js";

/**
 * Command numbers of ggml-rpc (ggml/src/ggml-rpc/ggml-rpc.cpp, `enum rpc_cmd`): HELLO is pinned at 14
 * across protocol versions; DEVICE_COUNT, right after it, is the cheapest command that answers.
 */
export const rpcCommand = { hello: 14, deviceCount: 15 } as const;
/** `RPC_CONN_CAPS_SIZE`: the transport capabilities a HELLO carries (all zero: plain TCP). */
export const connectionCapsBytes = 24;
/** Round trips timed after the HELLO: enough for a steady median, a few ms on a LAN. */
const defaultRoundTrips = 16;

/** `| command (1 byte) | request size (8 bytes, little-endian) | request |`, as `send_rpc_cmd` writes it. */
export function encodeRpcCommand(command: number, request: Uint8Array = new Uint8Array()): Buffer {
  const frame = Buffer.alloc(9 + request.length);
  frame.writeUInt8(command, 0);
  frame.writeBigUInt64LE(BigInt(request.length), 1);
  frame.set(request, 9);
  return frame;
}

/** The HELLO llama.cpp's client sends: no transport upgrade offered. */
export function encodeHello(): Buffer {
  return encodeRpcCommand(rpcCommand.hello, new Uint8Array(connectionCapsBytes));
}

/**
 * Splits the server's byte stream into responses, `| size (8 bytes, little-endian) | response |`
 * (`send_msg`), however the chunks fall. A size beyond `maxBytes` throws: no small command answers so.
 */
export class RpcResponseDecoder {
  private pending = Buffer.alloc(0);

  constructor(private readonly maxBytes = 1 << 16) {}

  push(chunk: Uint8Array): Buffer[] {
    this.pending = Buffer.concat([this.pending, chunk]);
    const frames: Buffer[] = [];
    while (this.pending.length >= 8) {
      const size = this.pending.readBigUInt64LE(0);
      if (size > BigInt(this.maxBytes))
        throw new Error(`the RPC server answered with a ${size}-byte response to a small command`);
      const end = 8 + Number(size);
      if (this.pending.length < end) break;
      frames.push(this.pending.subarray(8, end));
      this.pending = this.pending.subarray(end);
    }
    return frames;
  }
}

/** `rpc_msg_hello_rsp`: major, minor, patch, a padding byte, then the server's transport capabilities. */
export function decodeHelloResponse(response: Buffer): { major: number; minor: number; patch: number } {
  if (response.length !== 4 + connectionCapsBytes)
    throw new Error(`an RPC HELLO response is ${4 + connectionCapsBytes} bytes, got ${response.length}`);
  return { major: response[0]!, minor: response[1]!, patch: response[2]! };
}

/** `rpc_msg_device_count_rsp`: one little-endian uint32. */
export function decodeDeviceCount(response: Buffer): number {
  if (response.length !== 4)
    throw new Error(`an RPC DEVICE_COUNT response is 4 bytes, got ${response.length}`);
  return response.readUInt32LE(0);
}

export interface RpcRoundTrip {
  /** Median seconds of one command and its answer. */
  roundTripSeconds: number;
  version: string;
  devices: number;
}

/**
 * Times round trips to a ggml-rpc-server in its own protocol, the way llama.cpp's client talks to
 * it: HELLO, then DEVICE_COUNT commands, one at a time. `endpoint` is what llama-server's `--rpc`
 * would get (a tunnel's loopback port, or the server itself). The server serves one client at a
 * time, so this must run while no llama-server holds it.
 */
export async function measureRpcRoundTrip(
  endpoint: string,
  options: { roundTrips?: number; signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<RpcRoundTrip> {
  const separator = endpoint.lastIndexOf(":");
  const host = endpoint.slice(0, separator).replace(/^\[|\]$/g, "");
  const port = Number(endpoint.slice(separator + 1));
  const signal = abortAfter(options.timeoutMs ?? 2000, options.signal);
  const socket = connect({ host, port });
  socket.setNoDelay(true);
  try {
    const next = responses(socket, signal);
    socket.write(encodeHello());
    const hello = decodeHelloResponse(await next());
    const times: number[] = [];
    let devices = 0;
    for (let round = 0; round < (options.roundTrips ?? defaultRoundTrips); round++) {
      const started = performance.now();
      socket.write(encodeRpcCommand(rpcCommand.deviceCount));
      devices = decodeDeviceCount(await next());
      times.push((performance.now() - started) / 1000);
    }
    times.sort((a, b) => a - b);
    return {
      roundTripSeconds: times[Math.floor(times.length / 2)] ?? 0,
      version: `${hello.major}.${hello.minor}.${hello.patch}`,
      devices,
    };
  } finally {
    socket.destroy();
  }
}

/** Each call resolves to the next response; rejects when the socket fails, closes or `signal` fires. */
function responses(socket: Socket, signal: AbortSignal): () => Promise<Buffer> {
  const decoder = new RpcResponseDecoder();
  const ready: Buffer[] = [];
  let waiting: { resolve: (frame: Buffer) => void; reject: (error: Error) => void } | undefined;
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure ??= error;
    waiting?.reject(failure);
    waiting = undefined;
  };
  socket.on("data", (chunk: Buffer) => {
    try {
      ready.push(...decoder.push(chunk));
    } catch (error) {
      fail(error as Error);
      return;
    }
    if (waiting && ready.length > 0) {
      waiting.resolve(ready.shift()!);
      waiting = undefined;
    }
  });
  socket.once("error", fail);
  socket.once("close", () => fail(new Error("the RPC server closed the connection")));
  const onAbort = () => fail(new Error(`no RPC answer: ${String(signal.reason)}`));
  signal.addEventListener("abort", onAbort, { once: true });
  socket.once("close", () => signal.removeEventListener("abort", onAbort));
  return () =>
    new Promise<Buffer>((resolve, reject) => {
      if (ready.length > 0) resolve(ready.shift()!);
      else if (failure) reject(failure);
      else waiting = { resolve, reject };
    });
}
