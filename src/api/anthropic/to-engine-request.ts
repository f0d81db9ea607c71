import type { EngineRequest } from "../chat/stream-part.js";
import type { ContentBlock, CountTokensRequest, MessagesRequest } from "./schemas.js";

type EngineMessage = Record<string, unknown>;

/**
 * An Anthropic Messages request as the engine's chat-completions request: the system prompt
 * becomes a system message, `tool_use` blocks become the assistant's `tool_calls`, `tool_result`
 * blocks become `tool` messages, tools and tool choice take OpenAI's shape.
 */
export function toEngineRequest(request: MessagesRequest | CountTokensRequest, model: string): EngineRequest {
  const messages: EngineMessage[] = [];
  const system =
    typeof request.system === "string"
      ? request.system
      : request.system?.map((block) => block.text).join("\n");
  if (system) messages.push({ role: "system", content: system });
  for (const message of request.messages) {
    if (typeof message.content === "string") messages.push({ role: message.role, content: message.content });
    else if (message.role === "assistant") messages.push(assistantMessage(message.content));
    else messages.push(...userMessages(message.content));
  }
  const engine: EngineRequest = { model, messages };
  if ("max_tokens" in request) {
    const sampling = request as MessagesRequest;
    engine.max_tokens = sampling.max_tokens;
    if (sampling.temperature !== undefined) engine.temperature = sampling.temperature;
    if (sampling.top_p !== undefined) engine.top_p = sampling.top_p;
    if (sampling.top_k !== undefined) engine.top_k = sampling.top_k;
    const stop = sampling.stop_sequences as string[] | undefined;
    if (stop?.length) engine.stop = stop;
  }
  if (request.tools?.length) {
    engine.tools = request.tools.map((tool) => ({
      type: "function",
      function: { name: tool.name, description: tool.description ?? "", parameters: tool.input_schema },
    }));
  }
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
  return engine;
}

function assistantMessage(blocks: ContentBlock[]): EngineMessage {
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
  return toolCalls.length > 0
    ? { role: "assistant", content, tool_calls: toolCalls }
    : { role: "assistant", content };
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
          : (block.content ?? []).map((part) => (part.type === "text" ? part.text : "")).join("");
      messages.push({
        role: "tool",
        tool_call_id: block.tool_use_id,
        content: block.is_error ? `Error: ${content}` : content,
      });
    } else if (block.type === "text") parts.push({ type: "text", text: block.text });
    else if (block.type === "image") {
      const url =
        block.source.type === "base64"
          ? `data:${block.source.media_type};base64,${block.source.data}`
          : block.source.url;
      parts.push({ type: "image_url", image_url: { url } });
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
