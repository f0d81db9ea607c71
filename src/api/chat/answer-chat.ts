import type { Context } from "hono";
import type { ApiDependencies } from "../api-dependencies.js";
import { startAutoload } from "../autoload.js";
import { clientAbort, keepAliveWhile, streamResponse } from "../stream-response.js";
import { timingFieldNames, timingFields } from "../timing-headers.js";
import { type CollectedAnswer, collectParts } from "./collect-parts.js";
import { engineAnswer } from "./engine-answer.js";
import type { EngineRequest, StreamPart, Timing } from "./stream-part.js";

/** The few functions that make a protocol out of the engine's answer. */
export interface ChatAdapter {
  contentType: string;
  /** Written every few seconds while a model loads for a streamed request; none: wait silently. */
  keepAliveText?: string;
  /** The protocol's stream of the answer, as text to write. */
  toProtocolStream(parts: AsyncIterable<StreamPart>): AsyncIterable<string>;
  collectProtocolResponse(answer: CollectedAnswer): object;
  /** The last event of a stream that failed after it started. */
  errorText(error: unknown): string;
}

export interface ChatCall {
  request: EngineRequest;
  path: "/v1/chat/completions" | "/v1/completions";
  stream: boolean;
  /** `performance.now()` when the request arrived. */
  startedAt: number;
}

/**
 * Answers one chat request in a protocol: loads the model first when `--autoload` says so, sends
 * the engine request, and streams or collects the answer. Errors before the first byte (unknown
 * model, a request the engine refuses) propagate to the app's error mapping and get a status.
 */
export async function answerChat(
  context: Context,
  dependencies: ApiDependencies,
  adapter: ChatAdapter,
  call: ChatCall,
): Promise<Response> {
  const abort = clientAbort(context);
  const forwarded = context.req.header("x-herd-forwarded") !== undefined;
  const load = await startAutoload(dependencies, call.request.model, abort.signal);
  const timedLoad = load?.ready.then(() => performance.now() - call.startedAt);
  const ask = (loadMs: number) =>
    engineAnswer(dependencies, {
      request: call.request,
      path: call.path,
      signal: abort.signal,
      forwarded,
      startedAt: call.startedAt,
      loadMs,
    });
  if (!call.stream || (timedLoad && adapter.keepAliveText === undefined)) {
    const loadMs = (await timedLoad) ?? 0;
    if (call.stream) return streamAnswer(context, adapter, abort, await ask(loadMs));
    const answer = await collectParts(await ask(loadMs));
    return context.json(adapter.collectProtocolResponse(answer), 200, timingFields(answer.timing));
  }
  if (!timedLoad) return streamAnswer(context, adapter, abort, await ask(0));
  return streamAnswer(context, adapter, abort, async (writer) => {
    const loadMs = await keepAliveWhile(timedLoad, writer, adapter.keepAliveText ?? "");
    return ask(loadMs);
  });
}

function streamAnswer(
  context: Context,
  adapter: ChatAdapter,
  abort: AbortController,
  source:
    | AsyncIterable<StreamPart>
    | ((writer: { write(text: string): void; signal: AbortSignal }) => Promise<AsyncIterable<StreamPart>>),
): Response {
  return streamResponse(
    context,
    {
      contentType: adapter.contentType,
      trailerNames: timingFieldNames,
      errorText: adapter.errorText,
      abort,
    },
    async (writer) => {
      const parts = typeof source === "function" ? await source(writer) : source;
      let timing: Timing | undefined;
      const observed = observeTiming(parts, (value) => {
        timing = value;
      });
      for await (const text of adapter.toProtocolStream(observed)) writer.write(text);
      return timing ? timingFields(timing) : undefined;
    },
  );
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
