import type { ChatAdapter } from "../chat/answer-chat.js";
import type { CollectedAnswer } from "../chat/collect-parts.js";
import type { FinishReason, StreamPart, Usage } from "../chat/stream-part.js";
import { mapError, openAIErrorBody } from "../error-mapping.js";

/** The completion as OpenAI names it: its id, the model as the client named it, when it began. */
export interface CompletionShape {
  id: string;
  model: string;
  created: number;
  /** `stream_options.include_usage`: a last chunk with the usage and no choices. */
  includeUsage: boolean;
}

const sse = (value: object) => `data: ${JSON.stringify(value)}\n\n`;

const finishReasonOf = (reason: FinishReason) => (reason === "length" ? "length" : "stop");

const usageOf = (usage: Usage) => ({
  prompt_tokens: usage.promptTokens,
  completion_tokens: usage.completionTokens,
  total_tokens: usage.promptTokens + usage.completionTokens,
});

/**
 * OpenAI's completions API for answers herd builds itself (a `suffix`, which llama-server's own
 * `/v1/completions` ignores, is filled in through its `/infill`): `text_completion` objects, streamed
 * as SSE chunks ending in `[DONE]`.
 */
export function completionAdapter(shape: CompletionShape): ChatAdapter {
  const chunk = (choices: object[], rest: object = {}) => ({
    id: shape.id,
    object: "text_completion",
    created: shape.created,
    model: shape.model,
    choices,
    ...rest,
  });
  const choice = (text: string, finishReason: string | null) => ({
    text,
    index: 0,
    logprobs: null,
    finish_reason: finishReason,
  });
  return {
    contentType: "text/event-stream",
    async *toProtocolStream(parts: AsyncIterable<StreamPart>) {
      for await (const part of parts) {
        if (part.type === "text-delta") yield sse(chunk([choice(part.text, null)]));
        else if (part.type === "keep-alive") yield ": keep-alive\n\n";
        else if (part.type === "finish") {
          yield sse(chunk([choice("", finishReasonOf(part.reason))]));
          if (shape.includeUsage) yield sse(chunk([], { usage: usageOf(part.usage) }));
          yield "data: [DONE]\n\n";
        }
      }
    },
    collectProtocolResponse: (answer: CollectedAnswer) =>
      chunk([choice(answer.text, finishReasonOf(answer.finishReason))], { usage: usageOf(answer.usage) }),
    errorText: (error) => sse(openAIErrorBody(mapError(error))),
  };
}
