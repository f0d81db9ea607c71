import { type CollectedAnswer, parseToolArguments } from "../chat/collect-parts.js";
import { type MessageContext, stopOf } from "./to-protocol-stream.js";

/** The whole answer as Anthropic's `Message`. */
export function collectProtocolResponse(answer: CollectedAnswer, message: MessageContext) {
  const content: object[] = [];
  if (answer.reasoning) content.push({ type: "thinking", thinking: answer.reasoning, signature: "" });
  if (answer.text || answer.toolCalls.length === 0) content.push({ type: "text", text: answer.text });
  for (const call of answer.toolCalls) {
    content.push({
      type: "tool_use",
      id: call.id,
      name: call.name,
      input: parseToolArguments(call.arguments),
    });
  }
  return {
    id: message.id,
    type: "message",
    role: "assistant",
    model: message.model,
    content,
    ...stopOf(answer.finishReason, answer.stopSequence, message),
    usage: { input_tokens: answer.usage.promptTokens, output_tokens: answer.usage.completionTokens },
  };
}
