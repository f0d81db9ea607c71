import type { IncomingMessage } from "node:http";
import { dialPeer, requestPeerAt } from "./dial-peer.js";
import { clusterClientTlsOptions } from "./secure-channel.js";

/**
 * A request on a peer's cluster channel whose answer is read as it arrives (a log being followed,
 * a progress stream), tried at each of the peer's endpoints until one answers. Aborting `signal`
 * closes the connection. A GET unless a `body` is given (then a POST of it as JSON).
 */
export async function openChannelStream(options: {
  endpoints: string[];
  path: string;
  body?: unknown;
  key: Buffer;
  selfId: string;
  signal?: AbortSignal;
}): Promise<IncomingMessage> {
  return dialPeer(
    options.endpoints,
    (address) =>
      requestPeerAt(address, {
        path: options.path,
        method: options.body === undefined ? "GET" : "POST",
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        agent: false,
        tls: clusterClientTlsOptions(options.key, options.selfId),
        signal: options.signal,
        // Only until the answer starts: a followed log may then be quiet for as long as it likes.
        timeoutMs: 10_000,
        timeoutUntilAnswer: true,
      }),
    options.signal,
  );
}
