import type { IncomingMessage } from "node:http";
import { type Agent, request as httpsRequest } from "node:https";
import type { ConnectionOptions } from "node:tls";
import { splitEndpoint } from "./link-prober.js";

/** One of a peer's cluster channel endpoints, split for `connect`. */
export interface PeerAddress {
  host: string;
  port: number;
  /** The `host:port` it came from. */
  endpoint: string;
}

/**
 * Tries `connect` at each of a peer's endpoints (`host:port`, its LAN addresses) in turn and returns
 * the first success. A peer lists every address it may be reached at, and only some of them may be
 * reachable from here, so a failure moves on to the next; when every one fails, the last failure is
 * thrown. An aborted `signal` ends the attempts at once: the caller no longer wants the peer.
 *
 * @example
 * const socket = await dialPeer(member.endpoints, ({ host, port }) => connectTls({ host, port, ...tls }));
 */
export async function dialPeer<T>(
  endpoints: readonly string[],
  connect: (address: PeerAddress) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  let lastError: unknown = new Error("the peer has no address");
  for (const endpoint of endpoints) {
    try {
      const [host, port] = splitEndpoint(endpoint);
      return await connect({ host, port, endpoint });
    } catch (error) {
      if (signal?.aborted) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

export interface PeerRequestOptions {
  path: string;
  method: "GET" | "POST";
  /** A keep-alive agent that carries the cluster TLS options, or false for a connection of its own. */
  agent: Agent | false;
  /** The cluster TLS options (`clusterClientTlsOptions`), when `agent` is false. */
  tls?: ConnectionOptions;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
  signal?: AbortSignal;
  /** How long the connection may stay quiet before it is given up. Default: no limit. */
  timeoutMs?: number;
  /** Whether `timeoutMs` stops counting once the answer starts (a followed log may then be quiet). */
  timeoutUntilAnswer?: boolean;
}

/** One HTTPS request to a peer's cluster channel at one address; resolves when its answer starts. */
export function requestPeerAt(address: PeerAddress, options: PeerRequestOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const outgoing = httpsRequest(
      {
        host: address.host,
        port: address.port,
        path: options.path,
        method: options.method,
        agent: options.agent,
        signal: options.signal,
        headers: options.headers,
        ...options.tls,
      },
      resolve,
    );
    if (options.timeoutMs !== undefined) {
      outgoing.setTimeout(options.timeoutMs, () => outgoing.destroy(new Error("timed out")));
      if (options.timeoutUntilAnswer) outgoing.once("response", () => outgoing.setTimeout(0));
    }
    outgoing.once("error", reject);
    outgoing.end(options.body);
  });
}
