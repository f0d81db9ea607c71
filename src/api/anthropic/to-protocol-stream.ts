import type { FinishReason, StreamPart } from "../chat/stream-part.js";

/** Anthropic's `stop_reason` for each way an answer ends. */
export function stopReasonOf(reason: FinishReason): "end_turn" | "max_tokens" | "tool_use" {
  if (reason === "length") return "max_tokens";
  if (reason === "tool-calls") return "tool_use";
  return "end_turn";
}

/** One server-sent event of Anthropic's stream: the event name repeats the data's `type`. */
export function anthropicEvent(data: { type: string; [field: string]: unknown }): string {
  return `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

export const anthropicPing = anthropicEvent({ type: "ping" });

type OpenBlock = { kind: "text" | "thinking" } | { kind: "tool"; index: number };

/**
 * The answer as Anthropic's event stream: `message_start`, a `ping`, then for each content block
 * `content_block_start`, its `content_block_delta`s and `content_block_stop`, and finally
 * `message_delta` (stop reason, usage) and `message_stop`. Text, thinking and each tool call are
 * blocks of their own; a tool call's arguments arrive as `input_json_delta`s.
 */
export async function* toProtocolStream(
  parts: AsyncIterable<StreamPart>,
  message: { id: string; model: string },
): AsyncGenerator<string> {
  yield anthropicEvent({
    type: "message_start",
    message: {
      id: message.id,
      type: "message",
      role: "assistant",
      model: message.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 0, output_tokens: 0 },
    },
  });
  yield anthropicPing;
  let open: OpenBlock | undefined;
  let blockIndex = -1;
  const close = () => {
    if (!open) return "";
    open = undefined;
    return anthropicEvent({ type: "content_block_stop", index: blockIndex });
  };
  const start = (block: OpenBlock, content: object) => {
    const text = close();
    open = block;
    blockIndex++;
    return text + anthropicEvent({ type: "content_block_start", index: blockIndex, content_block: content });
  };
  for await (const part of parts) {
    switch (part.type) {
      case "text-delta":
        if (open?.kind !== "text") yield start({ kind: "text" }, { type: "text", text: "" });
        yield anthropicEvent({
          type: "content_block_delta",
          index: blockIndex,
          delta: { type: "text_delta", text: part.text },
        });
        break;
      case "reasoning-delta":
        if (open?.kind !== "thinking") {
          yield start({ kind: "thinking" }, { type: "thinking", thinking: "", signature: "" });
        }
        yield anthropicEvent({
          type: "content_block_delta",
          index: blockIndex,
          delta: { type: "thinking_delta", thinking: part.text },
        });
        break;
      case "tool-call-start":
        yield start(
          { kind: "tool", index: part.index },
          { type: "tool_use", id: part.id, name: part.name, input: {} },
        );
        break;
      case "tool-call-delta":
        if (open?.kind !== "tool" || open.index !== part.index) break;
        yield anthropicEvent({
          type: "content_block_delta",
          index: blockIndex,
          delta: { type: "input_json_delta", partial_json: part.argumentsDelta },
        });
        break;
      case "keep-alive":
        yield anthropicPing;
        break;
      case "finish":
        yield close();
        yield anthropicEvent({
          type: "message_delta",
          delta: { stop_reason: stopReasonOf(part.reason), stop_sequence: null },
          usage: { input_tokens: part.usage.promptTokens, output_tokens: part.usage.completionTokens },
        });
        yield anthropicEvent({ type: "message_stop" });
        return;
    }
  }
}
