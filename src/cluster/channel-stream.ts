import type { IncomingMessage } from "node:http";
import { dialPeer, requestPeerAt } from "./dial-peer.js";
import { clusterClientTlsOptions } from "./secure-channel.js";

/**
 * A GET on a peer's cluster channel whose answer is read as it arrives (a log being followed), tried
 * at each of the peer's endpoints until one answers. Aborting `signal` closes the connection.
 */
export async function openChannelStream(options: {
  endpoints: string[];
  path: string;
  key: Buffer;
  selfId: string;
  signal?: AbortSignal;
}): Promise<IncomingMessage> {
  return dialPeer(
    options.endpoints,
    (address) =>
      requestPeerAt(address, {
        path: options.path,
        method: "GET",
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
