import type { EngineRequest } from "../../chat/stream-part.js";
import { type ContentPart, type ConversationItem, isFunctionTool, type ResponsesRequest } from "./schemas.js";

type EngineMessage = { role: string; content: unknown; [field: string]: unknown };

/**
 * A Responses request as the engine's chat-completions request. `conversation` is the whole
 * conversation as items (earlier responses' input and output, then this request's input, item
 * references resolved). Instructions and system or developer messages become one system message
 * first, as chat templates expect; function calls join the assistant message before them; function
 * call outputs become `tool` messages; only `function` tools are offered to the model.
 */
export function toEngineRequest(
  request: ResponsesRequest,
  conversation: ConversationItem[],
  model: string,
): EngineRequest {
  const system: string[] = request.instructions ? [request.instructions] : [];
  const messages: EngineMessage[] = [];
  for (const item of conversation) {
    if ("skipped" in item) continue;
    switch (item.type) {
      case "message":
        if (item.role === "system" || item.role === "developer") system.push(textOf(item.content));
        else if (item.role === "assistant")
          messages.push({ role: "assistant", content: textOf(item.content) });
        else messages.push({ role: "user", content: userContent(item.content) });
        break;
      case "function_call": {
        const call = {
          id: item.call_id,
          type: "function",
          function: { name: item.name, arguments: item.arguments },
        };
        const last = messages.at(-1);
        if (last?.role === "assistant") last.tool_calls = [...((last.tool_calls as object[]) ?? []), call];
        else messages.push({ role: "assistant", content: "", tool_calls: [call] });
        break;
      }
      case "function_call_output":
        messages.push({ role: "tool", tool_call_id: item.call_id, content: textOf(item.output) });
        break;
    }
  }
  if (system.length > 0) messages.unshift({ role: "system", content: system.join("\n\n") });
  const engine: EngineRequest = { model, messages };
  if (request.max_output_tokens != null) engine.max_tokens = request.max_output_tokens;
  if (request.temperature != null) engine.temperature = request.temperature;
  if (request.top_p != null) engine.top_p = request.top_p;
  if (request.seed != null) engine.seed = request.seed;
  const tools = (request.tools ?? []).filter(isFunctionTool).map((tool) => ({
    type: "function",
    function: {
      name: tool.name,
      description: tool.description ?? "",
      parameters: tool.parameters ?? { type: "object", properties: {} },
    },
  }));
  if (tools.length > 0) {
    engine.tools = tools;
    const choice = toolChoiceOf(request.tool_choice);
    if (choice !== undefined) engine.tool_choice = choice;
    // One call at a time is honoured; `true` (every client's default) is left to the engine, which
    // allows parallel calls only where the model's chat template can write them back.
    if (request.parallel_tool_calls === false) engine.parallel_tool_calls = false;
  }
  const format = request.text?.format;
  if (format?.type === "json_object") engine.response_format = { type: "json_object" };
  else if (format?.type === "json_schema") {
    engine.response_format = {
      type: "json_schema",
      json_schema: { name: format.name, schema: format.schema, strict: format.strict ?? false },
    };
  }
  return engine;
}

/**
 * The engine's `tool_choice`. A choice of a kind of tool herd does not offer (a hosted tool, a
 * custom tool) is left out: the engine would refuse to force a tool it was not given.
 */
function toolChoiceOf(choice: ResponsesRequest["tool_choice"]): unknown {
  if (choice == null) return undefined;
  if (typeof choice === "string") return choice;
  if (choice.type === "function" && "name" in choice)
    return { type: "function", function: { name: choice.name } };
  if (choice.type === "allowed_tools" && "mode" in choice) return choice.mode;
  return undefined;
}

/** Text parts joined; an assistant's refusal is the text it said. */
function textOf(parts: ContentPart[]): string {
  return parts
    .map((part) => (part.type === "refusal" ? part.refusal : part.type === "input_image" ? "" : part.text))
    .join("");
}

/** A user's content: plain text where it is all text, else OpenAI chat's parts with images. */
function userContent(parts: ContentPart[]): unknown {
  if (parts.every((part) => part.type !== "input_image")) return textOf(parts);
  return parts.map((part) =>
    part.type === "input_image"
      ? { type: "image_url", image_url: { url: part.image_url } }
      : { type: "text", text: part.type === "refusal" ? part.refusal : part.text },
  );
}
