import { EngineError } from "../protocol/errors.js";
import type { ContinuablePath } from "./continuation-request.js";

interface StreamChunk {
  id?: string;
  created?: number;
  model?: string;
  system_fingerprint?: string;
  choices?: Array<{
    delta?: { content?: string | null; reasoning_content?: string | null };
    text?: string;
    finish_reason?: string | null;
  }>;
  usage?: unknown;
  timings?: unknown;
  error?: { message?: string };
}

/**
 * A whole reply put together from the engine's stream of it (continued or not), in the shape
 * llama-server gives a request that is not streamed: a `chat.completion` or a `text_completion`,
 * with the first chunk's id, creation time and model, the last one's usage and timings. An error
 * event (the reply could not be continued) throws, so the client gets an error status instead.
 */
export function wholeReply(path: ContinuablePath, events: readonly string[]): object {
  let first: StreamChunk | undefined;
  let text = "";
  let reasoning = "";
  let finishReason: string | null = null;
  let usage: unknown;
  let timings: unknown;
  for (const event of events) {
    if (!event.startsWith("data: ") || event === "data: [DONE]") continue;
    const chunk = JSON.parse(event.slice(6)) as StreamChunk;
    if (chunk.error)
      throw new EngineError(`the engine failed: ${chunk.error.message ?? "unknown error"}`, 502);
    first ??= chunk;
    const choice = chunk.choices?.[0];
    text += choice?.delta?.content ?? choice?.text ?? "";
    reasoning += choice?.delta?.reasoning_content ?? "";
    finishReason = choice?.finish_reason ?? finishReason;
    usage = chunk.usage ?? usage;
    timings = chunk.timings ?? timings;
  }
  const common = {
    created: first?.created,
    model: first?.model,
    ...(first?.system_fingerprint !== undefined ? { system_fingerprint: first.system_fingerprint } : {}),
  };
  const rest = { usage, id: first?.id, ...(timings !== undefined ? { timings } : {}) };
  if (path === "/v1/completions") {
    return {
      choices: [{ text, index: 0, logprobs: null, finish_reason: finishReason }],
      ...common,
      object: "text_completion",
      ...rest,
    };
  }
  return {
    choices: [
      {
        finish_reason: finishReason,
        index: 0,
        // A reasoning model's thinking, as the engine's whole answer carries it.
        message: { role: "assistant", content: text, ...(reasoning ? { reasoning_content: reasoning } : {}) },
      },
    ],
    ...common,
    object: "chat.completion",
    ...rest,
  };
}
