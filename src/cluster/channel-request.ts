import { request as httpsRequest } from "node:https";
import { splitEndpoint } from "./link-prober.js";
import { clusterClientTlsOptions } from "./secure-channel.js";

export interface ChannelAnswer {
  status: number;
  body: string;
  /** `error.message` of a JSON error body, else the body itself. */
  message: string;
}

/**
 * One HTTP request to a peer's cluster channel (TLS with the cluster key), tried at each of its
 * endpoints in turn until one answers. Throws the last connection error when none does.
 */
export async function channelRequest(options: {
  endpoints: string[];
  method: "GET" | "POST";
  path: string;
  body?: unknown;
  key: Buffer;
  selfId: string;
  timeoutMs?: number;
}): Promise<ChannelAnswer> {
  let lastError: unknown = new Error("the peer has no address");
  for (const endpoint of options.endpoints) {
    try {
      const [host, port] = splitEndpoint(endpoint);
      return await new Promise<ChannelAnswer>((resolve, reject) => {
        const outgoing = httpsRequest(
          {
            host,
            port,
            path: options.path,
            method: options.method,
            agent: false,
            timeout: options.timeoutMs ?? 10_000,
            ...clusterClientTlsOptions(options.key, options.selfId),
          },
          (response) => {
            readBody(response, 8 * 1024 * 1024).then((body) => {
              let message = body;
              try {
                message = (JSON.parse(body) as { error?: { message?: string } }).error?.message ?? body;
              } catch {
                // Not JSON: the raw body is the message.
              }
              resolve({ status: response.statusCode ?? 0, body, message });
            }, reject);
          },
        );
        outgoing.on("timeout", () => outgoing.destroy(new Error("timed out")));
        outgoing.on("error", reject);
        outgoing.end(options.body === undefined ? undefined : JSON.stringify(options.body));
      });
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/** Reads a whole body, refusing one over `limit` bytes. */
export async function readBody(stream: NodeJS.ReadableStream, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Error(`body over ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
