import type { Context } from "hono";
import type { ApiDependencies } from "../api-dependencies.js";
import { startAutoload } from "../autoload.js";
import { requestPolicy } from "../request-policy.js";
import { isClusterForwarded } from "../security/api-security.js";
import { clientAbort, streamResponse } from "../stream-response.js";
import { failoverFields, failoversFieldName, timingFieldNames, timingFields } from "../timing-headers.js";
import { type CollectedAnswer, collectParts } from "./collect-parts.js";
import { type EngineAnswer, engineAnswer } from "./engine-answer.js";
import type { EnginePath, EngineRequest, StreamPart, Timing } from "./stream-part.js";

/** The few functions that make a protocol out of the engine's answer. */
export interface ChatAdapter {
  contentType: string;
  /** The protocol's stream of the answer, as text to write. */
  toProtocolStream(parts: AsyncIterable<StreamPart>): AsyncIterable<string>;
  collectProtocolResponse(answer: CollectedAnswer): object;
  /** The last event of a stream that failed after it started. */
  errorText(error: unknown): string;
}

export interface ChatCall {
  request: EngineRequest;
  path: EnginePath;
  stream: boolean;
  /** `performance.now()` when the request arrived. */
  startedAt: number;
}

/** How often a stream waiting for a model to load says it is alive. */
const keepAliveMs = 5_000;

/**
 * Answers one chat request in a protocol: loads the model first when `--autoload` says so, sends
 * the engine request, and streams or collects the answer. Errors before the first byte (unknown
 * model, a request the engine refuses) propagate to the app's error mapping and get a status. A
 * streamed answer that must wait for a model to load starts at once and carries keep-alive parts
 * until the engine answers.
 */
export async function answerChat(
  context: Context,
  dependencies: ApiDependencies,
  adapter: ChatAdapter,
  call: ChatCall,
): Promise<Response> {
  const abort = clientAbort(context);
  const forwarded = isClusterForwarded(context);
  const load = await startAutoload(dependencies, call.request.model, abort.signal);
  const ask = (loadMs: number) =>
    engineAnswer(dependencies, {
      request: call.request,
      path: call.path,
      signal: abort.signal,
      forwarded,
      policy: requestPolicy(context),
      startedAt: call.startedAt,
      loadMs,
    });
  if (!call.stream) {
    if (load) await load.ready;
    const { parts, servedBy, failovers } = await ask(load ? performance.now() - call.startedAt : 0);
    const answer = await collectParts(parts);
    return context.json(adapter.collectProtocolResponse(answer), 200, {
      ...timingFields(answer.timing),
      ...servedBy,
      ...failoverFields(failovers),
    });
  }
  // A stream that waits for its model starts before anyone has answered: it names no one.
  // The count of continuations is known once the engine answered: a stream that waited for its
  // model learns it as it goes.
  let failovers: (() => number) | undefined;
  let source: object | undefined;
  const answered = (answer: EngineAnswer) => {
    failovers = answer.failovers;
    source = answer.source;
    return answer;
  };
  const { parts, servedBy } = load
    ? {
        parts: afterLoading(load.ready, call.startedAt, async (loadMs) => answered(await ask(loadMs))),
        servedBy: {},
      }
    : answered(await ask(0));
  return streamResponse(
    context,
    {
      contentType: adapter.contentType,
      headers: servedBy,
      trailerNames: dependencies.failoverTimeoutMs
        ? [...timingFieldNames, failoversFieldName]
        : timingFieldNames,
      errorText: adapter.errorText,
      abort,
      gatherMs: dependencies.streamGatherMs,
      source: () => source,
    },
    async (writer) => {
      let timing: Timing | undefined;
      for await (const text of adapter.toProtocolStream(
        observeTiming(parts, (value) => {
          timing = value;
        }),
      )) {
        writer.write(text);
      }
      return timing ? { ...timingFields(timing), ...failoverFields(failovers) } : undefined;
    },
  );
}

/** Keep-alive parts until the model is loaded, then the engine's answer. */
async function* afterLoading(
  ready: Promise<void>,
  startedAt: number,
  ask: (loadMs: number) => Promise<EngineAnswer>,
): AsyncGenerator<StreamPart> {
  let loaded = false;
  const settled = ready.then(() => {
    loaded = true;
  });
  while (!loaded) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([settled, new Promise((resolve) => (timer = setTimeout(resolve, keepAliveMs)))]);
    clearTimeout(timer);
    if (!loaded) yield { type: "keep-alive" };
  }
  yield* (await ask(performance.now() - startedAt)).parts;
}

async function* observeTiming(
  parts: AsyncIterable<StreamPart>,
  onTiming: (timing: Timing) => void,
): AsyncGenerator<StreamPart> {
  for await (const part of parts) {
    if (part.type === "finish") onTiming(part.timing);
    yield part;
  }
}
