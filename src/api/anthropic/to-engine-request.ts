import type { EngineRequest } from "../chat/stream-part.js";
import type { ContentBlock, CountTokensRequest, MessagesRequest, ToolResultContentBlock } from "./schemas.js";
import { systemPrompt } from "./system-prompt.js";

type EngineMessage = Record<string, unknown>;

/**
 * An Anthropic Messages request as the engine's chat-completions request: the system prompt (with
 * any `system` messages) becomes a system message, `tool_use` blocks become the assistant's
 * `tool_calls`, `tool_result` blocks become `tool` messages, documents and search results become
 * text, tools and tool choice take OpenAI's shape. What the engine cannot do (Anthropic's server
 * tools and their results, earlier thinking, PDFs) is left out.
 *
 * Streamed, the engine is asked to report the prompt's size as it starts (`return_progress`), so
 * `message_start` can carry it; with stop sequences, to name the one that stopped it (`verbose`
 * limited to `stop_type` and `stopping_word`).
 */
export function toEngineRequest(request: MessagesRequest | CountTokensRequest, model: string): EngineRequest {
  const messages: EngineMessage[] = [];
  const system = systemPrompt(request);
  if (system) messages.push({ role: "system", content: system });
  for (const message of request.messages) {
    if (message.role === "system") continue;
    if (typeof message.content === "string") messages.push({ role: message.role, content: message.content });
    else if (message.role === "assistant") messages.push(...assistantMessage(message.content));
    else messages.push(...userMessages(message.content));
  }
  const engine: EngineRequest = { model, messages };
  if ("max_tokens" in request) Object.assign(engine, samplingFields(request as MessagesRequest));
  const tools = engineTools(request);
  if (tools.length > 0) {
    engine.tools = tools;
    const choice = request.tool_choice;
    if (choice) {
      if (choice.type === "auto") engine.tool_choice = "auto";
      else if (choice.type === "any") engine.tool_choice = "required";
      else if (choice.type === "none") engine.tool_choice = "none";
      else engine.tool_choice = { type: "function", function: { name: choice.name } };
      if ("disable_parallel_tool_use" in choice && choice.disable_parallel_tool_use) {
        engine.parallel_tool_calls = false;
      }
    }
  }
  const thinking = request.thinking;
  if (thinking?.type === "enabled") engine.thinking_budget_tokens = thinking.budget_tokens;
  if (thinking?.type === "disabled") engine.chat_template_kwargs = { enable_thinking: false };
  return engine;
}

function samplingFields(request: MessagesRequest): Record<string, unknown> {
  const fields: Record<string, unknown> = { max_tokens: request.max_tokens };
  if (request.temperature !== undefined) fields.temperature = request.temperature;
  if (request.top_p !== undefined) fields.top_p = request.top_p;
  if (request.top_k !== undefined) fields.top_k = request.top_k;
  if (request.stop_sequences?.length) {
    fields.stop = request.stop_sequences;
    fields.verbose = true;
    fields.response_fields = ["stop_type", "stopping_word"];
  }
  if (request.stream === true) fields.return_progress = true;
  const format = request.output_config?.format ?? request.output_format;
  if (format) {
    fields.response_format = { type: "json_schema", json_schema: { name: "output", schema: format.schema } };
  }
  return fields;
}

/**
 * The request's own tools in OpenAI's shape. Anthropic's server tools are not among them, nor are
 * deferred tools (`defer_loading`) until a tool search has referenced them, as Anthropic's API
 * shows the model a deferred tool only from then on.
 */
function engineTools(request: MessagesRequest | CountTokensRequest): object[] {
  const referenced = new Set<string>();
  for (const message of request.messages) {
    if (typeof message.content === "string") continue;
    for (const block of message.content) {
      if (block.type !== "tool_result" || typeof block.content === "string") continue;
      for (const part of block.content ?? [])
        if (part.type === "tool_reference") referenced.add(part.tool_name);
    }
  }
  const tools: object[] = [];
  for (const tool of request.tools ?? []) {
    if (tool.type === "anthropic-defined") continue;
    if (tool.defer_loading && !referenced.has(tool.name)) continue;
    tools.push({
      type: "function",
      function: { name: tool.name, description: tool.description ?? "", parameters: tool.input_schema },
    });
  }
  return tools;
}

/** An assistant turn: its text and tool calls; nothing at all when it held neither. */
function assistantMessage(blocks: ContentBlock[]): EngineMessage[] {
  let content = "";
  const toolCalls: object[] = [];
  for (const block of blocks) {
    if (block.type === "text") content += block.text;
    else if (block.type === "tool_use") {
      toolCalls.push({
        id: block.id,
        type: "function",
        function: { name: block.name, arguments: JSON.stringify(block.input) },
      });
    }
  }
  if (toolCalls.length > 0) return [{ role: "assistant", content, tool_calls: toolCalls }];
  return content ? [{ role: "assistant", content }] : [];
}

/** A user turn: its tool results first (they answer the previous assistant turn), then the rest. */
function userMessages(blocks: ContentBlock[]): EngineMessage[] {
  const messages: EngineMessage[] = [];
  const parts: object[] = [];
  for (const block of blocks) {
    if (block.type === "tool_result") {
      const content =
        typeof block.content === "string"
          ? block.content
          : (block.content ?? []).map((part) => textOf(part) ?? "").join("");
      messages.push({
        role: "tool",
        tool_call_id: block.tool_use_id,
        content: block.is_error ? `Error: ${content}` : content,
      });
    } else if (block.type === "image") {
      const url =
        block.source.type === "base64"
          ? `data:${block.source.media_type};base64,${block.source.data}`
          : block.source.url;
      parts.push({ type: "image_url", image_url: { url } });
    } else {
      const text = textOf(block);
      if (text !== undefined) parts.push({ type: "text", text });
    }
  }
  if (parts.length > 0) {
    const onlyText = parts.every((part) => (part as { type: string }).type === "text");
    messages.push({
      role: "user",
      content: onlyText ? parts.map((part) => (part as { text: string }).text).join("") : parts,
    });
  }
  return messages;
}

/** The text a block shows the model, or undefined for one that shows none (or is not text). */
function textOf(block: ContentBlock | ToolResultContentBlock): string | undefined {
  switch (block.type) {
    case "text":
      return block.text;
    case "document": {
      const { source } = block;
      const body =
        source.type === "text"
          ? source.data
          : source.type === "content"
            ? typeof source.content === "string"
              ? source.content
              : source.content?.map((part) => part.text ?? "").join("\n")
            : undefined;
      if (body === undefined) return undefined;
      return block.title ? `${block.title}\n\n${body}` : body;
    }
    case "search_result":
      return `${block.title} (${block.source})\n\n${block.content.map((part) => part.text).join("\n")}`;
    case "tool_reference":
      return block.tool_name;
    default:
      return undefined;
  }
}
