import type { Readable } from "node:stream";
import { HerdError } from "../protocol/errors.js";
import { openChannelStream } from "./channel-stream.js";

/**
 * Another node's log, read through its API over the cluster channel (where it is answered as that
 * node's own `GET /herd/v1/logs`). A node that cannot be reached is a 503 the CLI can show.
 */
export async function readPeerLog(options: {
  node: { name: string; endpoints: string[] };
  query: { lines: number; follow: boolean };
  key: Buffer;
  selfId: string;
  signal: AbortSignal;
}): Promise<{ status: number; contentType: string; body: Readable }> {
  const search = new URLSearchParams({
    lines: String(options.query.lines),
    follow: String(options.query.follow),
  });
  try {
    const response = await openChannelStream({
      endpoints: options.node.endpoints,
      path: `/cluster/v1/api/herd/v1/logs?${search}`,
      key: options.key,
      selfId: options.selfId,
      signal: options.signal,
    });
    return {
      status: response.statusCode ?? 502,
      contentType: response.headers["content-type"] ?? "application/x-ndjson",
      body: response,
    };
  } catch (error) {
    throw new HerdError(`cannot reach node ${options.node.name} for its log: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
