import { request as httpRequest } from "node:http";
import type { Readable } from "node:stream";
import { ModelUnavailableError } from "../protocol/errors.js";
import { EngineAgent } from "./engine-agent.js";
import type { LocalRoute } from "./router.js";

export interface ForwardOptions {
  route: LocalRoute;
  model: string;
  /** The engine's path, e.g. `/v1/chat/completions`. */
  path: string;
  body: unknown;
  /** Aborted when the client goes away; the engine request is cancelled with it. */
  signal: AbortSignal;
}

/** The engine's answer: status, headers, and its body as a Node stream (bytes exactly as sent). */
export interface EngineResponse {
  status: number;
  headers: Record<string, string>;
  body: Readable;
}

/**
 * Connections to engines are kept open between requests, and opened ahead of them where the engine
 * closes each after a stream (see `EngineAgent`): loopback, but a new TCP connection per request
 * would still add to every time to first token.
 */
const engineAgent = new EngineAgent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000 });

/**
 * Sends a request to the engine of the chosen instance. Node's own HTTP client is used rather than
 * fetch because this is the token path: it hands over the engine's bytes with the least work per
 * chunk, and on a machine whose cores the engine keeps busy, every microsecond herd spends per
 * token is taken from generation. The route is released exactly once, when the engine's response
 * ends, fails or is abandoned; aborting `signal` (a client that went away) closes the engine
 * connection, which makes llama-server stop generating.
 */
export async function forwardToEngine(options: ForwardOptions): Promise<EngineResponse> {
  const payload = Buffer.from(JSON.stringify(options.body));
  try {
    return await send(options, payload, true);
  } catch (error) {
    options.route.release();
    if (options.signal.aborted) throw error;
    // The engine went away between routing and sending (a crash); its supervisor restarts it.
    throw new ModelUnavailableError(options.model, "FAILED", "the engine stopped answering");
  }
}

function send(options: ForwardOptions, payload: Buffer, reuse: boolean): Promise<EngineResponse> {
  const { route, signal } = options;
  const url = new URL(options.path, route.endpoint.baseUrl);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        // `false`: a connection of its own, opened for this request and closed after it.
        agent: reuse ? engineAgent : false,
        headers: {
          "content-type": "application/json",
          "content-length": payload.length,
          authorization: `Bearer ${route.endpoint.apiKey}`,
        },
        signal,
      },
      (response) => {
        response.once("close", route.release);
        response.once("error", route.release);
        // Names the instance that served the request, so clients and tests can see where it went.
        const headers: Record<string, string> = { "x-herd-instance": route.instanceId };
        for (const name of ["content-type", "cache-control"]) {
          const value = response.headers[name];
          if (typeof value === "string") headers[name] = value;
        }
        // llama-server closes the connection after every streamed response, a moment after its
        // last chunk (see EngineAgent). Kept alive, the connection would carry the next request
        // just as the engine closes it: that request is reset and sent again on a new connection,
        // which a client sending its requests back to back pays for in time to first token. So
        // herd closes it itself when the stream ends, and the next request takes the spare.
        if (headers["content-type"]?.startsWith("text/event-stream")) request.shouldKeepAlive = false;
        resolve({ status: response.statusCode ?? 502, headers, body: response });
      },
    );
    request.once("error", (error: NodeJS.ErrnoException) => {
      // An idle kept-alive (or spare) connection that the engine closed just as we used it: nothing
      // reached the engine, so sending again is safe. Not on another kept-alive connection: the
      // engine closes idle ones together (its keep-alive timeout), so the next in the pool may be too.
      const opened = request.reusedSocket || engineAgent.wasSpare(request.socket);
      if (reuse && opened && (error.code === "ECONNRESET" || error.code === "EPIPE")) {
        send(options, payload, false).then(resolve, reject);
      } else {
        reject(error);
      }
    });
    request.end(payload);
  });
}
