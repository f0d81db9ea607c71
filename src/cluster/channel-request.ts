import { z } from "zod";
import { dialPeer, requestPeerAt } from "./dial-peer.js";
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
  return dialPeer(options.endpoints, async (address) => {
    const response = await requestPeerAt(address, {
      path: options.path,
      method: options.method,
      agent: false,
      tls: clusterClientTlsOptions(options.key, options.selfId),
      timeoutMs: options.timeoutMs ?? 10_000,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const body = await readBody(response, 8 * 1024 * 1024);
    return { status: response.statusCode ?? 0, body, message: errorMessageOf(body) };
  });
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

const ErrorBody = z.object({ error: z.object({ message: z.string() }) });

/** `error.message` of a peer's JSON error body; any other body is its own message. */
function errorMessageOf(body: string): string {
  try {
    return ErrorBody.safeParse(JSON.parse(body)).data?.error.message ?? body;
  } catch {
    // Not JSON (a proxy's page, a plain-text answer): the raw body is the message.
    return body;
  }
}
