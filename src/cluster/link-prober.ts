import { request } from "node:https";
import type { LinkMeasurement } from "../protocol/cluster.js";
import type { NodeId } from "../protocol/ids.js";
import { clusterClientTlsOptions } from "./secure-channel.js";

/** Bytes of one throughput probe: enough to leave TCP slow start, small enough not to hog a link. */
export const probeBytes = 4 * 1024 * 1024;

/** Median of several round trips, via `ping` (the peer's channel answers each with a pong). */
export async function measureRoundTrip(ping: () => Promise<number>, samples = 7): Promise<number> {
  const times: number[] = [];
  for (let index = 0; index < samples; index++) {
    times.push(await ping());
    // Spread the samples so one busy moment of either process does not colour them all.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Downloads `probeBytes` from a peer's channel and returns bytes per second. */
export function measureThroughput(
  endpoint: string,
  key: Buffer,
  selfId: NodeId,
  signal?: AbortSignal,
): Promise<number> {
  const [host, port] = splitEndpoint(endpoint);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const outgoing = request(
      {
        host,
        port,
        path: `/cluster/v1/bulk?bytes=${probeBytes}`,
        agent: false,
        signal,
        ...clusterClientTlsOptions(key, selfId),
      },
      (response) => {
        let received = 0;
        response.on("data", (chunk: Buffer) => {
          received += chunk.length;
        });
        response.on("end", () => {
          const seconds = (performance.now() - started) / 1000;
          if (received !== probeBytes) reject(new Error(`bulk probe got ${received} of ${probeBytes} bytes`));
          else resolve(received / seconds);
        });
        response.on("error", reject);
      },
    );
    outgoing.on("error", reject);
    outgoing.end();
  });
}

/** Serves a bulk probe: `bytes` zero bytes in 64 KiB writes, at most 64 MiB. */
export function serveBulkProbe(url: URL, response: import("node:http").ServerResponse): void {
  const bytes = Math.min(Number(url.searchParams.get("bytes") ?? probeBytes) || 0, 64 * 1024 * 1024);
  response.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes });
  const block = Buffer.alloc(64 * 1024);
  let left = bytes;
  const write = () => {
    while (left > 0) {
      const size = Math.min(left, block.length);
      left -= size;
      if (!response.write(size === block.length ? block : block.subarray(0, size))) {
        response.once("drain", write);
        return;
      }
    }
    response.end();
  };
  write();
}

/** `host:port` or `[v6]:port` → [host, port]. */
export function splitEndpoint(endpoint: string): [string, number] {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(endpoint);
  if (!match) throw new Error(`'${endpoint}' is not host:port`);
  return [match[1]!, Number(match[2])];
}

/** A measurement as kept in the link matrix. */
export function linkMeasurement(
  from: NodeId,
  to: NodeId,
  rttMs: number,
  throughput: number,
): LinkMeasurement {
  return { from, to, rttMs, throughputBytesPerSecond: throughput, measuredAt: Date.now() };
}
