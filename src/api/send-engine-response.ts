import { Readable } from "node:stream";
import type { HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { Context } from "hono";
import type { EngineResponse } from "../inference/forward-to-engine.js";
import { currentRequest } from "../util/request-context.js";
import { contextLengthErrorOf } from "./engine-refusal.js";
import { mapError, openAIErrorBody } from "./error-mapping.js";
import { GatheringWriter } from "./gathering-writer.js";
import { failoverFields, failoversFieldName, timingFieldNames } from "./timing-headers.js";

/**
 * Passes the engine's response to the client unchanged. Under Node's HTTP server the engine's
 * stream goes straight to the client's socket (no Web Streams in between), chunks that come
 * faster than two per `gatherMs` in one write per `gatherMs` (see GatheringWriter); a client that
 * goes away destroys the engine stream, which ends the generation. Elsewhere (in-process tests) it
 * becomes an ordinary Response.
 *
 * herd's timings (see timing-headers.ts) are added from what passes by: for a whole answer as
 * headers, from the engine's `timings`; for a stream as trailers, the time of its first chunk and
 * the decode speed in the engine's last chunk. `startedAt` is `performance.now()` at arrival.
 *
 * One refusal is reworded: a prompt over the context, which llama-server reports in its own shape
 * (`exceed_context_size_error`), becomes OpenAI's `context_length_exceeded`, which clients test for.
 * llama-server reports it before a stream starts, so it is always a whole answer.
 */
export function sendEngineResponse(
  context: Context,
  upstream: EngineResponse,
  startedAt: number,
  gatherMs = 0,
): Response {
  const outgoing = (context.env as Partial<HttpBindings> | undefined)?.outgoing;
  if (!outgoing) {
    const body = upstream.status === 200 ? upstream.body : Readable.from(rewordedWhole(upstream));
    return new Response(Readable.toWeb(body) as ReadableStream<Uint8Array>, {
      status: upstream.status,
      headers: upstream.headers,
    });
  }
  const streaming = upstream.headers["content-type"]?.startsWith("text/event-stream") === true;
  const request = currentRequest();
  // A reply the node would continue on another instance says how often it was (a header, or a trailer).
  const failovers = (upstream as { failovers?: () => number }).failovers;
  if (!streaming) {
    const chunks: Buffer[] = [];
    upstream.body.on("data", (chunk: Buffer) => chunks.push(chunk));
    upstream.body.once("end", () => {
      const body = reworded(upstream.status, Buffer.concat(chunks));
      outgoing.writeHead(upstream.status, {
        ...upstream.headers,
        ...wholeAnswerTimings(body, startedAt),
        ...failoverFields(failovers),
      });
      outgoing.end(body);
    });
    upstream.body.once("error", () => {
      // The engine went away before its answer was complete: there is nothing whole to send.
      if (request) request.interrupted = true;
      outgoing.destroy();
    });
    outgoing.once("close", () => {
      if (!outgoing.writableFinished) upstream.body.destroy();
    });
    return RESPONSE_ALREADY_SENT;
  }
  outgoing.writeHead(upstream.status, {
    ...upstream.headers,
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
    trailer: [...timingFieldNames, ...(failovers ? [failoversFieldName] : [])].join(", "),
  });
  outgoing.flushHeaders();
  const writer = new GatheringWriter(outgoing, gatherMs, () => upstream.body);
  // One listener does what a pipe would and keeps the last chunks (the engine's timings are in the
  // last event): this runs once per token, so it does no more than that.
  let firstChunkAt: number | undefined;
  const tail: Buffer[] = [];
  const forward = (chunk: Buffer) => {
    firstChunkAt ??= performance.now();
    tail.push(chunk);
    if (tail.length > 3) tail.shift();
    if (!writer.write(chunk)) upstream.body.pause();
  };
  const resume = () => upstream.body.resume();
  upstream.body.on("data", forward);
  outgoing.on("drain", resume);
  let ended = false;
  upstream.body.once("end", () => {
    ended = true;
    const speed = lastNumberAfter(Buffer.concat(tail).toString("utf8"), '"predicted_per_second":');
    outgoing.addTrailers({
      "x-herd-time-to-first-token-ms": ((firstChunkAt ?? performance.now()) - startedAt).toFixed(1),
      "x-herd-tokens-per-second": (speed ?? 0).toFixed(2),
      ...failoverFields(failovers),
    });
    writer.end();
  });
  // The engine went away mid-answer (it crashed, or a shard's machine dropped out). A stream ends
  // with an error event the client's SDK understands rather than a cut connection.
  upstream.body.once("close", () => {
    if (ended || outgoing.writableEnded || outgoing.destroyed) return;
    upstream.body.off("data", forward);
    outgoing.off("drain", resume);
    if (request) request.interrupted = true;
    writer.end(
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

/** A refusal's body, reworded where it reports a prompt over the context; any other body as it is. */
function reworded(status: number, body: Buffer): Buffer {
  if (status === 200) return body;
  let error: unknown;
  try {
    error = (JSON.parse(body.toString("utf8")) as { error?: unknown }).error;
  } catch {
    return body;
  }
  const contextLength = contextLengthErrorOf(error);
  return contextLength ? Buffer.from(JSON.stringify(openAIErrorBody(mapError(contextLength)))) : body;
}

async function* rewordedWhole(upstream: EngineResponse): AsyncGenerator<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of upstream.body) chunks.push(chunk as Buffer);
  yield reworded(upstream.status, Buffer.concat(chunks));
}

/** Timing headers for a whole (not streamed) answer, from the engine's `timings` when it has them. */
function wholeAnswerTimings(body: Buffer, startedAt: number): Record<string, string> {
  const text = body.toString("utf8");
  const speed = lastNumberAfter(text, '"predicted_per_second":');
  const generationMs = lastNumberAfter(text, '"predicted_ms":');
  if (speed === undefined || generationMs === undefined) return {};
  // The first token came when generation began: the whole wait less the time spent generating.
  const elapsed = performance.now() - startedAt;
  return {
    "x-herd-time-to-first-token-ms": Math.max(0, elapsed - generationMs).toFixed(1),
    "x-herd-tokens-per-second": speed.toFixed(2),
  };
}

function lastNumberAfter(text: string, key: string): number | undefined {
  const at = text.lastIndexOf(key);
  if (at === -1) return undefined;
  const value = Number.parseFloat(text.slice(at + key.length, at + key.length + 32));
  return Number.isFinite(value) ? value : undefined;
}
