import type { IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { splitEndpoint } from "./link-prober.js";
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
  let lastError: unknown = new Error("the peer has no address");
  for (const endpoint of options.endpoints) {
    try {
      const [host, port] = splitEndpoint(endpoint);
      return await new Promise<IncomingMessage>((resolve, reject) => {
        const outgoing = httpsRequest(
          {
            host,
            port,
            path: options.path,
            method: options.body === undefined ? "GET" : "POST",
            agent: false,
            signal: options.signal,
            ...clusterClientTlsOptions(options.key, options.selfId),
          },
          resolve,
        );
        // Only until the answer starts: a followed log may then be quiet for as long as it likes.
        outgoing.setTimeout(10_000, () => outgoing.destroy(new Error("timed out")));
        outgoing.once("response", () => outgoing.setTimeout(0));
        outgoing.on("error", reject);
        outgoing.end(options.body === undefined ? undefined : JSON.stringify(options.body));
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      lastError = error;
    }
  }
  throw lastError;
}
