import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { ModelUnavailableError } from "../protocol/errors.js";
import type { EngineResponse } from "./forward-to-engine.js";
import type { UpstreamRoute } from "./router.js";

export interface UpstreamForwardOptions {
  route: UpstreamRoute;
  model: string;
  /** The OpenAI path, e.g. `/v1/chat/completions`. */
  path: string;
  /** The engine-level OpenAI request; its `model` becomes the upstream's name for it. */
  body: unknown;
  signal: AbortSignal;
}

const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 256 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 256 });

/** Response headers passed on to the client: the body's type, and how the upstream limits it. */
const passedHeaders = ["content-type", "cache-control", "retry-after", "x-request-id"];

/**
 * Fields of llama-server's own that herd's adapters add to an engine request (to learn the
 * prompt's size early, the stop string that ended an answer, how to think). An OpenAI-compatible
 * service need not know them, and OpenAI's own API refuses a request that carries them.
 */
const engineOnlyFields = [
  "return_progress",
  "verbose",
  "response_fields",
  "thinking_budget_tokens",
  "chat_template_kwargs",
];

/** The engine request as an upstream takes it: under the upstream's name, without engine-only fields. */
export function upstreamBody(body: unknown, upstreamModel: string): Record<string, unknown> {
  const fields: Record<string, unknown> = { ...(body as Record<string, unknown>), model: upstreamModel };
  for (const name of engineOnlyFields) delete fields[name];
  return fields;
}

/**
 * Sends an OpenAI-shaped request to an OpenAI-compatible upstream and returns its answer to be
 * streamed back unchanged (as an engine's is). The key comes from the node's environment and goes
 * only to the upstream. An upstream that cannot be reached before anything was sent is reported as
 * unavailable, so the request can be routed again.
 */
export async function forwardToUpstream(options: UpstreamForwardOptions): Promise<EngineResponse> {
  const { route } = options;
  const url = upstreamUrl(route.upstream.url, options.path);
  const payload = Buffer.from(JSON.stringify(upstreamBody(options.body, route.upstreamModel)));
  const secure = url.protocol === "https:";
  try {
    return await new Promise<EngineResponse>((resolve, reject) => {
      const outgoing = (secure ? httpsRequest : httpRequest)(
        url,
        {
          method: "POST",
          agent: secure ? httpsAgent : httpAgent,
          signal: options.signal,
          headers: {
            "content-type": "application/json",
            "content-length": payload.length,
            ...(route.apiKey ? { authorization: `Bearer ${route.apiKey}` } : {}),
          },
        },
        (response: IncomingMessage) => {
          response.once("close", route.release);
          response.once("error", route.release);
          const headers: Record<string, string> = { "x-herd-upstream": route.upstream.name };
          for (const name of passedHeaders) {
            const value = response.headers[name];
            if (typeof value === "string") headers[name] = value;
          }
          resolve({ status: response.statusCode ?? 502, headers, body: response });
        },
      );
      outgoing.once("error", reject);
      outgoing.end(payload);
    });
  } catch (error) {
    route.release();
    if (options.signal.aborted) throw error;
    throw new ModelUnavailableError(
      options.model,
      "UPSTREAM-UNREACHABLE",
      `upstream '${route.upstream.name}' cannot be reached (${(error as Error).message})`,
    );
  }
}

/** `https://host/v1` + `/v1/chat/completions` → `https://host/v1/chat/completions` (one `/v1`). */
export function upstreamUrl(base: string, path: string): URL {
  const url = new URL(base);
  const prefix = url.pathname.replace(/\/+$/, "");
  const rest = prefix.endsWith("/v1") ? path.replace(/^\/v1/, "") : path;
  url.pathname = `${prefix}${rest}`;
  return url;
}
