import type { FinishReason, StreamPart } from "../chat/stream-part.js";

/** The message being answered: its id, the model's name as asked, and the request's stop sequences. */
export interface MessageContext {
  id: string;
  model: string;
  stopSequences?: readonly string[];
}

/**
 * Anthropic's `stop_reason` and `stop_sequence` for each way an answer ends. A stop string counts as
 * a stop sequence only when the request asked for it: the engine also stops at its chat template's
 * own end-of-turn strings, which the client never named.
 */
export function stopOf(
  reason: FinishReason,
  stopSequence: string | undefined,
  message: MessageContext,
): { stop_reason: "end_turn" | "max_tokens" | "tool_use" | "stop_sequence"; stop_sequence: string | null } {
  if (reason === "length") return { stop_reason: "max_tokens", stop_sequence: null };
  if (reason === "tool-calls") return { stop_reason: "tool_use", stop_sequence: null };
  if (stopSequence !== undefined && message.stopSequences?.includes(stopSequence)) {
    return { stop_reason: "stop_sequence", stop_sequence: stopSequence };
  }
  return { stop_reason: "end_turn", stop_sequence: null };
}

/** One server-sent event of Anthropic's stream: the event name repeats the data's `type`. */
export function anthropicEvent(data: { type: string; [field: string]: unknown }): string {
  return `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

export const anthropicPing = anthropicEvent({ type: "ping" });

type OpenBlock = { kind: "text" | "thinking" } | { kind: "tool"; index: number };

/** Said while the model loads, before `message_start`: an SSE comment, which every client skips. */
const waitingComment = ": waiting for the model to load\n\n";

/**
 * The answer as Anthropic's event stream: `message_start`, a `ping`, then for each content block
 * `content_block_start`, its `content_block_delta`s and `content_block_stop`, and finally
 * `message_delta` (stop reason, usage) and `message_stop`. Text, thinking and each tool call are
 * blocks of their own; a tool call's arguments arrive as `input_json_delta`s.
 *
 * `message_start` carries the prompt's token count (some clients read it only there), so it waits
 * for the engine's `prompt-start`, which comes as the engine begins on the prompt, before any text.
 * An engine that does not report it (an upstream) gets `message_start` with its first text and 0.
 */
export async function* toProtocolStream(
  parts: AsyncIterable<StreamPart>,
  message: MessageContext,
): AsyncGenerator<string> {
  let started = false;
  const messageStart = (inputTokens: number) => {
    started = true;
    const event = anthropicEvent({
      type: "message_start",
      message: {
        id: message.id,
        type: "message",
        role: "assistant",
        model: message.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: inputTokens, output_tokens: 0 },
      },
    });
    return event + anthropicPing;
  };
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
    if (!started) {
      if (part.type === "keep-alive") {
        yield waitingComment;
        continue;
      }
      if (part.type === "prompt-start") {
        yield messageStart(part.promptTokens);
        continue;
      }
      yield messageStart(part.type === "finish" ? part.usage.promptTokens : 0);
    }
    switch (part.type) {
      case "prompt-start":
        break;
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
          delta: stopOf(part.reason, part.stopSequence, message),
          usage: { input_tokens: part.usage.promptTokens, output_tokens: part.usage.completionTokens },
        });
        yield anthropicEvent({ type: "message_stop" });
        return;
    }
  }
}
