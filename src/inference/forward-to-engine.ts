import { ModelUnavailableError } from "../protocol/errors.js";
import type { Route } from "./router.js";

export interface ForwardOptions {
  route: Route;
  model: string;
  /** The engine's path, e.g. `/v1/chat/completions`. */
  path: string;
  body: unknown;
  /** Aborted when the client goes away; the engine request is cancelled with it. */
  signal: AbortSignal;
}

/**
 * Sends a request to the engine of the chosen instance and returns the engine's response with its
 * body wrapped so that the route is released exactly once: when the body has been read to the end,
 * when the reader cancels it (a client that disconnected), or at once when there is no body.
 * Cancelling the body closes the engine connection, which makes llama-server stop generating.
 */
export async function forwardToEngine(options: ForwardOptions): Promise<Response> {
  const { route } = options;
  let upstream: Response;
  try {
    upstream = await fetch(`${route.endpoint.baseUrl}${options.path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${route.endpoint.apiKey}` },
      body: JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    route.release();
    if (options.signal.aborted) throw error;
    // The engine went away between routing and sending (a crash); its supervisor restarts it.
    throw new ModelUnavailableError(options.model, "FAILED", "the engine stopped answering");
  }
  if (!upstream.body) {
    route.release();
    return upstream;
  }
  return new Response(releaseWhenDone(upstream.body, route.release), {
    status: upstream.status,
    headers: upstream.headers,
  });
}

function releaseWhenDone(body: ReadableStream<Uint8Array>, release: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          release();
          controller.close();
        } else {
          controller.enqueue(value);
        }
      } catch (error) {
        release();
        controller.error(error);
      }
    },
    async cancel(reason) {
      release();
      await reader.cancel(reason);
    },
  });
}
