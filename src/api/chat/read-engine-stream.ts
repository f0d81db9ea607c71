import { z } from "zod";
import { EngineError } from "../../protocol/errors.js";
import { decodeServerSentEvents } from "../../util/sse.js";
import { contextLengthErrorOf } from "../engine-refusal.js";
import { keepAliveEventName } from "../failover-settings.js";
import type { FinishReason, StreamPart, Usage } from "./stream-part.js";

const EngineToolCallDelta = z.looseObject({
  index: z.number().int().nonnegative().default(0),
  id: z.string().nullish(),
  function: z.looseObject({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
});

/**
 * The fields of llama-server's `chat.completion.chunk` (and `text_completion`) that herd reads, and
 * of its own completion chunks (`/infill`): `content` for the text, `stop` on the last one, which
 * counts the tokens and says why it stopped; that stream has no `[DONE]`.
 */
const EngineChunk = z.looseObject({
  choices: z
    .array(
      z.looseObject({
        delta: z
          .looseObject({
            content: z.string().nullish(),
            reasoning_content: z.string().nullish(),
            tool_calls: z.array(EngineToolCallDelta).nullish(),
          })
          .nullish(),
        text: z.string().nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .nullish(),
  usage: z
    .looseObject({
      prompt_tokens: z.number(),
      completion_tokens: z.number(),
      prompt_tokens_details: z.looseObject({ cached_tokens: z.number().nullish() }).nullish(),
    })
    .nullish(),
  timings: z
    .looseObject({
      prompt_ms: z.number().optional(),
      predicted_ms: z.number().optional(),
      predicted_per_second: z.number().optional(),
    })
    .nullish(),
  error: z.looseObject({ message: z.string() }).nullish(),
  content: z.string().nullish(),
  stop: z.boolean().nullish(),
  stop_type: z.string().nullish(),
  tokens_evaluated: z.number().nullish(),
  tokens_predicted: z.number().nullish(),
  /** llama-server's `return_progress`: how much of the prompt it has read, of how many tokens. */
  prompt_progress: z.looseObject({ total: z.number().int().nonnegative() }).nullish(),
  /** llama-server's `verbose` (with `response_fields`), on the last chunks: why it stopped. */
  __verbose: z
    .looseObject({ stop_type: z.string().optional(), stopping_word: z.string().optional() })
    .nullish(),
});

/**
 * Reads the engine's SSE answer to a streamed request as stream parts. The finish part comes last,
 * once usage (which follows the finish reason) has arrived. `startedAt` is when the request
 * arrived, `loadMs` how long it waited for a model to load. A `prompt-start` part comes first when
 * the engine reports the prompt's size (asked with `return_progress`), and the finish part names the
 * stop string that ended the answer when the engine says it (asked with `verbose`). An error event
 * from the engine, or a stream that ends without `[DONE]`, throws EngineError (ContextLengthExceededError
 * for a prompt over the context).
 */
export async function* readEngineStream(
  body: AsyncIterable<Uint8Array>,
  startedAt: number,
  loadMs = 0,
): AsyncGenerator<StreamPart> {
  let finishReason: FinishReason = "stop";
  let usage: Usage = { promptTokens: 0, completionTokens: 0 };
  let promptMs = 0;
  let generationMs = 0;
  let tokensPerSecond = 0;
  let firstTokenAt: number | undefined;
  let promptStarted = false;
  let stopSequence: string | undefined;
  let done = false;
  for await (const event of decodeServerSentEvents(body)) {
    if (event.event === keepAliveEventName) {
      // The instance failed and the reply waits for another to continue it.
      yield { type: "keep-alive" };
      continue;
    }
    if (event.data === "[DONE]") {
      done = true;
      break;
    }
    const chunk = EngineChunk.parse(JSON.parse(event.data));
    if (chunk.error) {
      throw (
        contextLengthErrorOf(chunk.error) ?? new EngineError(`the engine failed: ${chunk.error.message}`, 502)
      );
    }
    if (chunk.prompt_progress && !promptStarted) {
      promptStarted = true;
      yield { type: "prompt-start", promptTokens: chunk.prompt_progress.total };
    }
    if (chunk.__verbose?.stop_type === "word" && chunk.__verbose.stopping_word) {
      stopSequence = chunk.__verbose.stopping_word;
    }
    for (const choice of chunk.choices ?? []) {
      const parts = partsOf(choice);
      if (parts.length > 0) firstTokenAt ??= performance.now();
      yield* parts;
      if (choice.finish_reason) finishReason = finishReasonOf(choice.finish_reason);
    }
    if (chunk.content) {
      firstTokenAt ??= performance.now();
      yield { type: "text-delta", text: chunk.content };
    }
    if (chunk.stop === true) {
      finishReason = chunk.stop_type === "limit" ? "length" : "stop";
      usage = { promptTokens: chunk.tokens_evaluated ?? 0, completionTokens: chunk.tokens_predicted ?? 0 };
      done = true;
    }
    if (chunk.usage) {
      usage = { promptTokens: chunk.usage.prompt_tokens, completionTokens: chunk.usage.completion_tokens };
      const cached = chunk.usage.prompt_tokens_details?.cached_tokens;
      if (typeof cached === "number") usage.cachedPromptTokens = cached;
    }
    if (chunk.timings) {
      promptMs = chunk.timings.prompt_ms ?? promptMs;
      generationMs = chunk.timings.predicted_ms ?? generationMs;
      tokensPerSecond = chunk.timings.predicted_per_second ?? tokensPerSecond;
    }
    if (done) break;
  }
  if (!done) throw new EngineError("the engine's answer ended before it was complete", 502);
  const now = performance.now();
  yield {
    type: "finish",
    reason: finishReason,
    usage,
    ...(finishReason === "stop" && stopSequence !== undefined ? { stopSequence } : {}),
    timing: {
      timeToFirstTokenMs: (firstTokenAt ?? now) - startedAt,
      tokensPerSecond,
      promptMs,
      generationMs,
      totalMs: now - startedAt,
      loadMs,
    },
  };
}

type EngineChoice = NonNullable<z.infer<typeof EngineChunk>["choices"]>[number];

function partsOf(choice: EngineChoice): StreamPart[] {
  const parts: StreamPart[] = [];
  if (choice.text) parts.push({ type: "text-delta", text: choice.text });
  const delta = choice.delta;
  if (!delta) return parts;
  if (delta.reasoning_content) parts.push({ type: "reasoning-delta", text: delta.reasoning_content });
  if (delta.content) parts.push({ type: "text-delta", text: delta.content });
  for (const call of delta.tool_calls ?? []) {
    if (call.id || call.function?.name) {
      parts.push({
        type: "tool-call-start",
        index: call.index,
        id: call.id ?? `call_${call.index}`,
        name: call.function?.name ?? "",
      });
    }
    if (call.function?.arguments) {
      parts.push({ type: "tool-call-delta", index: call.index, argumentsDelta: call.function.arguments });
    }
  }
  return parts;
}

function finishReasonOf(reason: string): FinishReason {
  if (reason === "length") return "length";
  if (reason === "tool_calls") return "tool-calls";
  return "stop";
}
