import type { StreamPart } from "../../chat/stream-part.js";
import { mapError } from "../../error-mapping.js";
import { responseFailureOf } from "../../error-shapes.js";
import {
  type ItemStatus,
  type OutputItem,
  type ResponseContext,
  type ResponseObject,
  responseObject,
  statusOf,
} from "./response-object.js";

/** One server-sent event of the Responses API: the event name repeats the data's `type`. */
export function responsesEvent(data: { type: string; sequence_number: number }): string {
  return `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** An SSE comment: a stream waiting for its model says it is alive without an event to number. */
const keepAlive = ": keep-alive\n\n";

/**
 * The answer as the Responses API's event stream, each event numbered by `sequence_number`:
 * `response.created` and `response.in_progress`; for each output item (reasoning, a message, a
 * function call) `response.output_item.added`, its content part and deltas, and the matching
 * `.done` events; then `response.completed`, or `response.incomplete` when `max_output_tokens` cut
 * it. A failure after the stream began ends it with `response.failed`. `onFinished` receives the
 * final response of an answer that completed or was cut.
 */
export async function* toProtocolStream(
  parts: AsyncIterable<StreamPart>,
  context: ResponseContext,
  onFinished: (response: ResponseObject) => void = () => {},
): AsyncGenerator<string> {
  let sequence = 0;
  const event = (type: string, fields: object) =>
    responsesEvent({ type, sequence_number: sequence++, ...fields });
  const output: OutputItem[] = [];
  let open: { item: OutputItem; toolIndex?: number } | undefined;
  const outputIndex = () => output.length - 1;

  /** Opens an output item (closing the one before): `output_item.added`, then its content part. */
  function* start(item: OutputItem, toolIndex?: number): Generator<string> {
    yield* close("completed");
    output.push(item);
    open = { item, toolIndex };
    yield event("response.output_item.added", { output_index: outputIndex(), item });
    const where = { item_id: item.id, output_index: outputIndex(), content_index: 0 };
    if (item.type === "message") {
      item.content.push({ type: "output_text", text: "", annotations: [], logprobs: [] });
      yield event("response.content_part.added", { ...where, part: item.content[0] });
    } else if (item.type === "reasoning") {
      item.content.push({ type: "reasoning_text", text: "" });
      yield event("response.content_part.added", { ...where, part: item.content[0] });
    }
  }

  /** Ends the open item: its text or arguments whole, its content part, `output_item.done`. */
  function* close(status: ItemStatus): Generator<string> {
    if (!open) return;
    const { item } = open;
    open = undefined;
    const where = { item_id: item.id, output_index: outputIndex() };
    if (item.type === "function_call") {
      yield event("response.function_call_arguments.done", { ...where, arguments: item.arguments });
    } else {
      const part = item.content[0]!;
      const done = item.type === "message" ? "response.output_text.done" : "response.reasoning_text.done";
      const logprobs = item.type === "message" ? { logprobs: [] } : {};
      yield event(done, { ...where, content_index: 0, text: part.text, ...logprobs });
      yield event("response.content_part.done", { ...where, content_index: 0, part });
    }
    item.status = status;
    yield event("response.output_item.done", { output_index: where.output_index, item });
  }

  const inProgress = responseObject(context, { status: "in_progress", output: [] });
  yield event("response.created", { response: inProgress });
  yield event("response.in_progress", { response: inProgress });
  try {
    for await (const part of parts) {
      switch (part.type) {
        case "text-delta":
        case "reasoning-delta": {
          const kind = part.type === "text-delta" ? "message" : "reasoning";
          if (open?.item.type !== kind) yield* start(newItem(kind, context));
          const item = open!.item as Extract<OutputItem, { type: "message" | "reasoning" }>;
          item.content[0]!.text += part.text;
          yield event(kind === "message" ? "response.output_text.delta" : "response.reasoning_text.delta", {
            item_id: item.id,
            output_index: outputIndex(),
            content_index: 0,
            delta: part.text,
            ...(kind === "message" ? { logprobs: [] } : {}),
          });
          break;
        }
        case "tool-call-start":
          yield* start(
            {
              type: "function_call",
              id: context.newItemId("fc"),
              status: "in_progress",
              call_id: part.id,
              name: part.name,
              arguments: "",
            },
            part.index,
          );
          break;
        case "tool-call-delta":
          // The engine writes one call after another; a delta belongs to the call it opened last.
          if (open?.item.type !== "function_call" || open.toolIndex !== part.index) break;
          open.item.arguments += part.argumentsDelta;
          yield event("response.function_call_arguments.delta", {
            item_id: open.item.id,
            output_index: outputIndex(),
            delta: part.argumentsDelta,
          });
          break;
        case "keep-alive":
          yield keepAlive;
          break;
        case "finish": {
          const status = statusOf(part.reason);
          yield* close(status);
          const response = responseObject(context, { status, output, usage: part.usage });
          // Kept before the client reads the end, so a follow-up it sends at once finds it.
          onFinished(response);
          yield event(status === "completed" ? "response.completed" : "response.incomplete", { response });
          return;
        }
      }
    }
  } catch (error) {
    // The status line went out with response.created, so the failure is told in the stream itself.
    const failure = responseFailureOf(mapError(error));
    yield event("response.failed", {
      response: responseObject(context, { status: "failed", output, error: failure }),
    });
  }
}

function newItem(kind: "message" | "reasoning", context: ResponseContext): OutputItem {
  return kind === "message"
    ? { type: "message", id: context.newItemId("msg"), role: "assistant", status: "in_progress", content: [] }
    : { type: "reasoning", id: context.newItemId("rs"), status: "in_progress", summary: [], content: [] };
}
