import type { FinishReason, StreamPart, Timing, Usage } from "./stream-part.js";

export interface CollectedToolCall {
  id: string;
  name: string;
  /** The arguments as the engine wrote them: a JSON text. */
  arguments: string;
}

/** A whole answer, gathered from its stream parts, for protocols' non-streaming responses. */
export interface CollectedAnswer {
  text: string;
  reasoning: string;
  toolCalls: CollectedToolCall[];
  finishReason: FinishReason;
  /** The stop string that ended the answer, when the engine named it. */
  stopSequence?: string;
  usage: Usage;
  timing: Timing;
}

/** Gathers stream parts into one answer. */
export async function collectParts(parts: AsyncIterable<StreamPart>): Promise<CollectedAnswer> {
  let text = "";
  let reasoning = "";
  const toolCalls = new Map<number, CollectedToolCall>();
  for await (const part of parts) {
    switch (part.type) {
      case "text-delta":
        text += part.text;
        break;
      case "reasoning-delta":
        reasoning += part.text;
        break;
      case "tool-call-start":
        toolCalls.set(part.index, { id: part.id, name: part.name, arguments: "" });
        break;
      case "tool-call-delta": {
        const call = toolCalls.get(part.index);
        if (call) call.arguments += part.argumentsDelta;
        break;
      }
      case "keep-alive":
      case "prompt-start":
        break;
      case "finish":
        return {
          text,
          reasoning,
          toolCalls: [...toolCalls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call),
          finishReason: part.reason,
          ...(part.stopSequence !== undefined ? { stopSequence: part.stopSequence } : {}),
          usage: part.usage,
          timing: part.timing,
        };
    }
  }
  throw new Error("the stream of parts ended without a finish part");
}

/** Parses a tool call's arguments into the object Anthropic and Ollama carry; `{}` when empty. */
export function parseToolArguments(text: string): Record<string, unknown> {
  if (text.trim() === "") return {};
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === "object" && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // A model may write arguments that are not JSON (the engine constrains them only when the chat
    // template's format is known). The client still gets the call, with the text as written.
  }
  return { arguments: text };
}
