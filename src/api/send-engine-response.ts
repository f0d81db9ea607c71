import { Readable } from "node:stream";
import type { HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { Context } from "hono";
import type { EngineResponse } from "../inference/forward-to-engine.js";

/**
 * Passes the engine's response to the client unchanged. Under Node's HTTP server the engine's
 * stream is piped straight into the client's socket (no Web Streams in between, each chunk
 * written as it arrives); a client that goes away destroys the engine stream, which ends the
 * generation. Elsewhere (in-process tests) it becomes an ordinary Response.
 */
export function sendEngineResponse(context: Context, upstream: EngineResponse): Response {
  const outgoing = (context.env as Partial<HttpBindings> | undefined)?.outgoing;
  if (!outgoing) {
    return new Response(Readable.toWeb(upstream.body) as ReadableStream<Uint8Array>, {
      status: upstream.status,
      headers: upstream.headers,
    });
  }
  const headers = upstream.headers["content-type"]?.startsWith("text/event-stream")
    ? { ...upstream.headers, "cache-control": "no-cache", "x-accel-buffering": "no" }
    : upstream.headers;
  outgoing.writeHead(upstream.status, headers);
  outgoing.flushHeaders();
  upstream.body.pipe(outgoing);
  outgoing.once("close", () => {
    if (!outgoing.writableFinished) upstream.body.destroy();
  });
  upstream.body.once("error", () => outgoing.destroy());
  return RESPONSE_ALREADY_SENT;
}
