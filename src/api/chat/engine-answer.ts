import { dispatchContinuing } from "../../inference/continue-reply.js";
import type { RequestPolicy } from "../../protocol/upstream.js";
import type { ApiDependencies } from "../api-dependencies.js";
import { engineRefusal } from "../engine-refusal.js";
import { failoverSettings } from "../failover-settings.js";
import { readEngineStream } from "./read-engine-stream.js";
import type { EnginePath, EngineRequest, StreamPart } from "./stream-part.js";

export interface EngineAnswerOptions {
  request: EngineRequest;
  /** `/v1/chat/completions`, `/v1/completions` for a raw prompt, `/infill` to fill in the middle. */
  path: EnginePath;
  signal: AbortSignal;
  /** A request another node forwarded: served here or not at all. */
  forwarded: boolean;
  /** `local-only`: never to an upstream (the request's header or its API key). */
  policy: RequestPolicy;
  startedAt: number;
  loadMs: number;
}

/**
 * Sends an engine request (always streamed, with usage) to an instance of its model, here or on
 * the node that heads it, and returns the answer as stream parts. An engine that refuses the
 * request (a parameter it cannot honour, a prompt over the context) is the client's mistake and
 * becomes a 400 (see engineRefusal); nothing has been sent to the client yet at that point.
 */
export async function engineAnswer(
  dependencies: ApiDependencies,
  options: EngineAnswerOptions,
): Promise<EngineAnswer> {
  const upstream = await dispatchContinuing(
    {
      router: dependencies.router,
      model: options.request.model,
      path: options.path,
      body: { ...options.request, stream: true, stream_options: { include_usage: true } },
      signal: options.signal,
      localOnly: options.forwarded,
      policy: options.policy,
      forwardToNode: dependencies.forwardToNode,
      retryForMs: 60_000,
    },
    failoverSettings(dependencies, "part"),
  );
  if (upstream.status !== 200) {
    let text = "";
    for await (const chunk of upstream.body) text += chunk;
    throw engineRefusal(upstream.status, text);
  }
  const servedBy: Record<string, string> = {};
  for (const name of servedByHeaders) {
    const value = upstream.headers[name];
    if (value !== undefined) servedBy[name] = value;
  }
  return {
    parts: readEngineStream(upstream.body, options.startedAt, options.loadMs),
    source: upstream.body,
    servedBy,
    ...(upstream.failovers ? { failovers: upstream.failovers } : {}),
  };
}

/** The headers that name the instance or upstream that answered (and an alias's model), passed on to the client. */
const servedByHeaders = ["x-herd-instance", "x-herd-upstream", "x-herd-model"];

export interface EngineAnswer {
  parts: AsyncIterable<StreamPart>;
  /** The engine stream the parts are read from. */
  source: object;
  /** `x-herd-instance` or `x-herd-upstream`: who answered. */
  servedBy: Record<string, string>;
  /** How many times the reply was continued on another instance so far; absent when it would not be. */
  failovers?: () => number;
}
