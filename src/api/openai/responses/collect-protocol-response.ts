import type { CollectedAnswer } from "../../chat/collect-parts.js";
import { type OutputItem, type ResponseContext, responseObject, statusOf } from "./response-object.js";

/**
 * The whole answer as the Responses API's `Response`: reasoning, the message and the function
 * calls as output items, `incomplete` with `max_output_tokens` as the reason when the limit cut it.
 */
export function collectProtocolResponse(answer: CollectedAnswer, context: ResponseContext) {
  const status = statusOf(answer.finishReason);
  const output: OutputItem[] = [];
  if (answer.reasoning) {
    output.push({
      type: "reasoning",
      id: context.newItemId("rs"),
      status: "completed",
      summary: [],
      content: [{ type: "reasoning_text", text: answer.reasoning }],
    });
  }
  if (answer.text) {
    output.push({
      type: "message",
      id: context.newItemId("msg"),
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text: answer.text, annotations: [], logprobs: [] }],
    });
  }
  for (const call of answer.toolCalls) {
    output.push({
      type: "function_call",
      id: context.newItemId("fc"),
      status: "completed",
      call_id: call.id,
      name: call.name,
      arguments: call.arguments,
    });
  }
  // The limit cut whatever was written last.
  const last = output.at(-1);
  if (last && status === "incomplete") last.status = "incomplete";
  return responseObject(context, { status, output, usage: answer.usage });
}
