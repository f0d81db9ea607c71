import type { CollectedAnswer } from "../chat/collect-parts.js";
import { parseToolArguments } from "../chat/collect-parts.js";
import type { FinishReason, StreamPart, Timing, Usage } from "../chat/stream-part.js";

/** Which Ollama endpoint answers: `/api/chat` carries a `message`, `/api/generate` a `response`. */
export interface OllamaAnswerShape {
  kind: "chat" | "generate";
  /** The model as the client named it. */
  model: string;
}

const nanoseconds = (milliseconds: number) => Math.round(milliseconds * 1e6);

/** The fields of Ollama's last line: why it ended, token counts and durations (ns). */
function doneFields(reason: FinishReason, usage: Usage, timing: Timing) {
  return {
    done: true,
    done_reason: reason === "length" ? "length" : "stop",
    total_duration: nanoseconds(timing.totalMs),
    load_duration: nanoseconds(timing.loadMs),
    prompt_eval_count: usage.promptTokens,
    prompt_eval_duration: nanoseconds(timing.promptMs),
    eval_count: usage.completionTokens,
    eval_duration: nanoseconds(timing.generationMs),
  };
}

function line(
  shape: OllamaAnswerShape,
  content: { text?: string; thinking?: string; toolCalls?: object[] },
  rest: object,
) {
  const base = { model: shape.model, created_at: new Date().toISOString() };
  if (shape.kind === "generate") {
    return {
      ...base,
      response: content.text ?? "",
      ...(content.thinking ? { thinking: content.thinking } : {}),
      ...rest,
    };
  }
  const message: Record<string, unknown> = { role: "assistant", content: content.text ?? "" };
  if (content.thinking) message.thinking = content.thinking;
  if (content.toolCalls?.length) message.tool_calls = content.toolCalls;
  return { ...base, message, ...rest };
}

const ndjson = (value: object) => `${JSON.stringify(value)}\n`;

/**
 * The answer as Ollama's NDJSON stream: a line per piece of text (`done: false`), each tool call
 * whole once its arguments are complete (Ollama's arguments are an object, not a text), and a last
 * line with `done: true`, the reason and the counts and durations.
 */
export async function* toProtocolStream(
  parts: AsyncIterable<StreamPart>,
  shape: OllamaAnswerShape,
): AsyncGenerator<string> {
  // The line for a piece of text, written by hand: it is the token path (one line per token), and
  // this is the same JSON as `line()` makes, at a fraction of the work.
  const textLineStart = `{"model":${JSON.stringify(shape.model)},"created_at":"`;
  const textField = shape.kind === "chat" ? `","message":{"role":"assistant","content":` : `","response":`;
  const textLineEnd = shape.kind === "chat" ? `},"done":false}\n` : `,"done":false}\n`;
  let pendingCall: { name: string; arguments: string } | undefined;
  const flushCall = () => {
    if (!pendingCall) return "";
    const call = {
      function: { name: pendingCall.name, arguments: parseToolArguments(pendingCall.arguments) },
    };
    pendingCall = undefined;
    return ndjson(line(shape, { toolCalls: [call] }, { done: false }));
  };
  for await (const part of parts) {
    switch (part.type) {
      case "text-delta": {
        const text = `${textLineStart}${new Date().toISOString()}${textField}${JSON.stringify(part.text)}${textLineEnd}`;
        yield pendingCall ? flushCall() + text : text;
        break;
      }
      case "reasoning-delta":
        yield flushCall() + ndjson(line(shape, { thinking: part.text }, { done: false }));
        break;
      case "tool-call-start":
        yield flushCall();
        pendingCall = { name: part.name, arguments: "" };
        break;
      case "tool-call-delta":
        if (pendingCall) pendingCall.arguments += part.argumentsDelta;
        break;
      case "keep-alive":
        // NDJSON has no comment or empty line a client would skip: Ollama's clients wait in silence.
        break;
      case "finish":
        yield flushCall() + ndjson(line(shape, {}, doneFields(part.reason, part.usage, part.timing)));
        return;
    }
  }
}

/** The whole answer as Ollama's single response object (`stream: false`). */
export function collectProtocolResponse(answer: CollectedAnswer, shape: OllamaAnswerShape): object {
  const toolCalls = answer.toolCalls.map((call) => ({
    function: { name: call.name, arguments: parseToolArguments(call.arguments) },
  }));
  return line(
    shape,
    { text: answer.text, thinking: answer.reasoning || undefined, toolCalls },
    doneFields(answer.finishReason, answer.usage, answer.timing),
  );
}
