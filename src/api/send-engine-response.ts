import { Readable } from "node:stream";
import type { HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { Context } from "hono";
import type { EngineResponse } from "../inference/forward-to-engine.js";
import { currentRequest } from "../util/request-context.js";

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
  const streaming = upstream.headers["content-type"]?.startsWith("text/event-stream") === true;
  const headers = streaming
    ? { ...upstream.headers, "cache-control": "no-cache", "x-accel-buffering": "no" }
    : upstream.headers;
  const request = currentRequest();
  outgoing.writeHead(upstream.status, headers);
  outgoing.flushHeaders();
  upstream.body.pipe(outgoing, { end: false });
  let ended = false;
  upstream.body.once("end", () => {
    ended = true;
    outgoing.end();
  });
  // The engine went away mid-answer (it crashed, or a shard's machine dropped out). A stream ends
  // with an error event the client's SDK understands rather than a cut connection; a plain body
  // cannot say anything more, so its connection is closed.
  upstream.body.once("close", () => {
    if (ended || outgoing.writableEnded || outgoing.destroyed) return;
    upstream.body.unpipe(outgoing);
    if (request) request.interrupted = true;
    if (!streaming) {
      outgoing.destroy();
      return;
    }
    outgoing.end(
      `data: ${JSON.stringify({
        error: {
          message: "the engine stopped in the middle of this response; retry the request",
          type: "server_error",
          code: "engine_interrupted",
        },
      })}\n\n`,
    );
  });
  upstream.body.once("error", () => {
    // Handled by the close listener above, which always follows.
  });
  outgoing.once("close", () => {
    if (!outgoing.writableFinished) upstream.body.destroy();
  });
  return RESPONSE_ALREADY_SENT;
}
