import type { HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { Context } from "hono";
import { GatheringWriter } from "./gathering-writer.js";

/** An abort controller that follows the client's request: aborted when the client goes away. */
export function clientAbort(context: Context): AbortController {
  const abort = new AbortController();
  const clientSignal = context.req.raw.signal;
  if (clientSignal.aborted) abort.abort(clientSignal.reason);
  else clientSignal.addEventListener("abort", () => abort.abort(clientSignal.reason), { once: true });
  return abort;
}

/** Where a protocol adapter writes a streamed answer. */
export interface StreamWriter {
  /** Aborted when the client goes away; pass it on so the engine stops generating. */
  readonly signal: AbortSignal;
  write(text: string | Uint8Array): void;
}

export interface StreamResponseOptions {
  contentType: string;
  headers?: Record<string, string>;
  /** Names of the trailers `produce` may return (sent after the body, where the client reads them). */
  trailerNames?: string[];
  /** The last words of a stream whose production failed, in the protocol's own shape. */
  errorText: (error: unknown) => string;
  /** Aborted when the client goes away (pass its signal to the engine request). */
  abort: AbortController;
  /** Writes that come faster than two per this many milliseconds leave together (GatheringWriter). Default 0. */
  gatherMs?: number;
  /** The engine stream the answer is made from, once there is one: its connection is read in step with the writes. */
  source?: () => object | undefined;
}

/**
 * Streams an answer that `produce` writes, and ends it with the trailers `produce` returns. Under
 * Node's HTTP server the writes go to the socket through a GatheringWriter (this is the token
 * path); in-process (tests calling `app.request`) it becomes an ordinary Response without
 * trailers. A failure after the status was sent can no longer change it, so it ends the stream with
 * `errorText`.
 */
export function streamResponse(
  context: Context,
  options: StreamResponseOptions,
  produce: (writer: StreamWriter) => Promise<Record<string, string> | undefined>,
): Response {
  const { abort } = options;
  const headers: Record<string, string> = {
    "content-type": options.contentType,
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
    ...options.headers,
  };
  const outgoing = (context.env as Partial<HttpBindings> | undefined)?.outgoing;
  if (!outgoing) {
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const writer = {
          signal: abort.signal,
          write: (text: string | Uint8Array) =>
            controller.enqueue(typeof text === "string" ? encoder.encode(text) : text),
        };
        void produce(writer)
          .catch((error: unknown) => {
            if (!abort.signal.aborted) controller.enqueue(encoder.encode(options.errorText(error)));
          })
          .finally(() => {
            try {
              controller.close();
            } catch {
              // Already cancelled by the reader.
            }
          });
      },
      cancel() {
        abort.abort(new Error("client went away"));
      },
    });
    return new Response(body, { status: 200, headers });
  }
  if (options.trailerNames?.length) headers.trailer = options.trailerNames.join(", ");
  outgoing.writeHead(200, headers);
  outgoing.flushHeaders();
  outgoing.once("close", () => {
    if (!outgoing.writableFinished) abort.abort(new Error("client went away"));
  });
  const gathering = new GatheringWriter(outgoing, options.gatherMs ?? 0, options.source);
  const writer = {
    signal: abort.signal,
    write: (text: string | Uint8Array) => {
      gathering.write(text);
    },
  };
  void produce(writer).then(
    (trailers) => {
      if (outgoing.destroyed) return;
      if (trailers && options.trailerNames?.length) outgoing.addTrailers(trailers);
      gathering.end();
    },
    (error: unknown) => {
      if (outgoing.destroyed) return;
      gathering.end(options.errorText(error));
    },
  );
  return RESPONSE_ALREADY_SENT;
}
