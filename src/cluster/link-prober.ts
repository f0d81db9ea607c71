import { type Agent, request } from "node:https";
import type { LinkMeasurement } from "../protocol/cluster.js";
import type { NodeId } from "../protocol/ids.js";
import type { ProbeBudget } from "./probe-budget.js";
import { clusterClientTlsOptions } from "./secure-channel.js";

/**
 * Bytes of one throughput probe: enough to leave TCP slow start on a LAN, small enough that the
 * per-node probe budget (`ProbeBudget`) allows several new paths a minute.
 */
export const probeBytes = 2 * 1024 * 1024;

/** Where to reach a peer's channel over one path: its address there, and this node's own to send from. */
export interface PathTarget {
  host: string;
  port: number;
  /** This node's address on the path (the connection leaves by that interface). */
  localAddress?: string;
}

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

/**
 * The round trip of one path: the TCP handshake of `samples` connections from `localAddress` (each
 * then makes an empty bulk request, so the channel sees a whole TLS exchange and nothing to refuse),
 * the least of them in milliseconds. The handshake's answer comes from the peer's kernel, so this is
 * the path's own round trip, without either process's event loop; the least leaves out busy moments.
 */
export async function measurePathRoundTrip(
  target: PathTarget,
  key: Buffer,
  selfId: NodeId,
  samples = 5,
): Promise<number> {
  const times: number[] = [];
  for (let index = 0; index < samples; index++) {
    await bulkRequest(target, 0, key, selfId, false, undefined, (milliseconds) => times.push(milliseconds));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (times.length === 0) throw new Error("no connection reported its handshake");
  return Math.min(...times);
}

/** Downloads `probeBytes` from a peer's channel (over one path when `target` says) and returns bytes per second. */
export async function measureThroughput(
  endpoint: string | PathTarget,
  key: Buffer,
  selfId: NodeId,
  signal?: AbortSignal,
): Promise<number> {
  const target = typeof endpoint === "string" ? toTarget(endpoint) : endpoint;
  const started = performance.now();
  const received = await bulkRequest(target, probeBytes, key, selfId, false, signal);
  return transferRate({ started, ...received });
}

/** How a bulk download went: when it was asked for, when its first and last bytes came, and how many. */
export interface BulkTiming {
  started: number;
  firstAt: number;
  firstBytes: number;
  endedAt: number;
  bytes: number;
}

/**
 * Bytes per second of a download, counted from its first bytes to its last: the connection's TCP
 * and TLS handshakes and the request's round trip are left out, since the connections that carry
 * a shard's traffic are opened once and kept. On a fast cable they are most of a 2 MiB probe's time
 * (a veth read 239 MiB/s counted from the request). A download that came in one piece is counted
 * from the request.
 */
export function transferRate(timing: BulkTiming): number {
  const after = timing.bytes - timing.firstBytes;
  const seconds = (timing.endedAt - timing.firstAt) / 1000;
  if (after <= 0 || seconds <= 0) return timing.bytes / ((timing.endedAt - timing.started) / 1000);
  return after / seconds;
}

/** A peer's endpoint as a target with no chosen local address. */
function toTarget(endpoint: string): PathTarget {
  const [host, port] = splitEndpoint(endpoint);
  return { host, port };
}

/** One bulk request of `bytes`; resolves with the bytes received once all arrived, and when they came. */
function bulkRequest(
  target: PathTarget,
  bytes: number,
  key: Buffer,
  selfId: NodeId,
  agent: Agent | false,
  signal?: AbortSignal,
  onConnected?: (milliseconds: number) => void,
): Promise<Omit<BulkTiming, "started">> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: target.host,
        port: target.port,
        localAddress: target.localAddress,
        path: `/cluster/v1/bulk?bytes=${bytes}`,
        agent,
        signal,
        timeout: 10_000,
        ...clusterClientTlsOptions(key, selfId),
      },
      (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          reject(new Error(`bulk probe answered ${response.statusCode}`));
          return;
        }
        let received = 0;
        let firstAt = 0;
        let firstBytes = 0;
        response.on("data", (chunk: Buffer) => {
          if (received === 0) {
            firstAt = performance.now();
            firstBytes = chunk.length;
          }
          received += chunk.length;
        });
        response.on("end", () => {
          const endedAt = performance.now();
          if (received !== bytes) reject(new Error(`bulk probe got ${received} of ${bytes} bytes`));
          else resolve({ firstAt: firstAt || endedAt, firstBytes, endedAt, bytes: received });
        });
        response.on("error", reject);
      },
    );
    if (onConnected)
      outgoing.once("socket", (socket) => {
        const opened = performance.now();
        socket.once("connect", () => onConnected(performance.now() - opened));
      });
    outgoing.on("timeout", () => outgoing.destroy(new Error("bulk probe timed out")));
    outgoing.on("error", reject);
    outgoing.end();
  });
}

/**
 * Serves a bulk probe: `bytes` zero bytes in 64 KiB writes, at most 64 MiB, and only while this
 * node's probe budget allows (429 otherwise: the prober keeps its last figure and asks again later).
 */
export function serveBulkProbe(
  url: URL,
  response: import("node:http").ServerResponse,
  budget?: ProbeBudget,
): void {
  const bytes = Math.min(Number(url.searchParams.get("bytes") ?? probeBytes) || 0, 64 * 1024 * 1024);
  if (budget && !budget.take("sent", bytes)) {
    response.writeHead(429, { "content-type": "text/plain" });
    response.end("probe budget spent; ask again later");
    return;
  }
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
