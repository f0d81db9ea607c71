import { InvalidRequestError } from "../../protocol/errors.js";
import type { EnginePath, EngineRequest } from "../chat/stream-part.js";
import { renderPromptTemplate } from "./render-prompt-template.js";
import type { ChatRequest, GenerateRequest, OllamaOptions } from "./schemas.js";

/** The request's `options`, with the top-level sampling fields some clients send beneath them. */
function optionsOf(request: ChatRequest | GenerateRequest): OllamaOptions | undefined {
  const topLevel: OllamaOptions = {};
  if (request.temperature !== undefined) topLevel.temperature = request.temperature;
  if (request.top_p !== undefined) topLevel.top_p = request.top_p;
  if (request.max_output_tokens !== undefined) topLevel.num_predict = request.max_output_tokens;
  if (Object.keys(topLevel).length === 0) return request.options;
  return { ...topLevel, ...request.options };
}

/** Ollama's `options` and `format` as engine request fields. */
function samplingFields(request: ChatRequest | GenerateRequest): Record<string, unknown> {
  const { format } = request;
  const options = optionsOf(request);
  const fields: Record<string, unknown> = {};
  if (options) {
    const { num_predict: numPredict, num_ctx: _contextIsFixedAtLoad, stop, ...sampling } = options;
    for (const name of [
      "temperature",
      "top_p",
      "top_k",
      "min_p",
      "typical_p",
      "seed",
      "repeat_penalty",
      "repeat_last_n",
      "presence_penalty",
      "frequency_penalty",
      "mirostat",
      "mirostat_tau",
      "mirostat_eta",
    ] as const) {
      if (sampling[name] !== undefined) fields[name] = sampling[name];
    }
    // -1 (no limit) and -2 (fill the context) both leave the engine's own limit, the context.
    if (numPredict !== undefined && numPredict > 0) fields.max_tokens = numPredict;
    if (stop?.length) fields.stop = stop;
  }
  if (format === "json") fields.response_format = { type: "json_object" };
  else if (format && typeof format === "object") {
    fields.response_format = { type: "json_schema", json_schema: { name: "format", schema: format } };
  }
  return fields;
}

/**
 * An Ollama chat request as the engine's chat-completions request. Ollama's tool calls carry no
 * ids and tool results name the tool instead, so ids are made up here and a result is matched to
 * the latest call of the tool it names.
 */
export function chatToEngineRequest(request: ChatRequest, model: string): EngineRequest {
  const messages: Record<string, unknown>[] = [];
  const callIds = new Map<string, string>();
  let callCount = 0;
  for (const message of request.messages) {
    if (message.role === "assistant" && message.tool_calls?.length) {
      const toolCalls = message.tool_calls.map((call) => {
        const id = `call_${callCount++}`;
        callIds.set(call.function.name, id);
        const args = call.function.arguments;
        return {
          id,
          type: "function",
          function: {
            name: call.function.name,
            arguments: typeof args === "string" ? args : JSON.stringify(args),
          },
        };
      });
      messages.push({ role: "assistant", content: message.content, tool_calls: toolCalls });
    } else if (message.role === "tool") {
      const id =
        (message.tool_name && callIds.get(message.tool_name)) ?? `call_${Math.max(0, callCount - 1)}`;
      messages.push({ role: "tool", tool_call_id: id, content: message.content });
    } else if (message.images?.length) {
      messages.push({
        role: message.role,
        content: [
          { type: "text", text: message.content },
          ...message.images.map((image) => ({
            type: "image_url",
            image_url: { url: `data:image/png;base64,${image}` },
          })),
        ],
      });
    } else messages.push({ role: message.role, content: message.content });
  }
  if (messages.length === 0)
    throw new InvalidRequestError("messages must hold at least one message", "messages");
  const engine: EngineRequest = { model, messages, ...samplingFields(request) };
  if (request.tools?.length) engine.tools = request.tools;
  if (request.tool_choice !== undefined) engine.tool_choice = request.tool_choice;
  if (typeof request.think === "boolean") engine.chat_template_kwargs = { enable_thinking: request.think };
  return engine;
}

/**
 * The fields for a completion rather than a chat: llama-server's completions (OpenAI's and its own
 * `/infill`) ignore `response_format` and take the JSON schema as `json_schema`.
 */
function completionFields(fields: Record<string, unknown>): Record<string, unknown> {
  const { response_format: format, ...sampling } = fields;
  if (!format) return sampling;
  const schema = (format as { json_schema?: { schema?: object } }).json_schema?.schema;
  return { ...sampling, json_schema: schema ?? { type: "object" } };
}

/**
 * An Ollama generate request as Ollama would run it. With `suffix`, the engine fills in the middle
 * between prompt and suffix (`/infill`, with the model's FIM tokens). A prompt goes unchanged to a
 * plain completion when it is `raw`, and for a model without a chat template (Ollama's default
 * template is `{{ .Prompt }}`, which a system prompt does not reach); a request's own `template` is
 * rendered here and completed. Otherwise prompt and system prompt are a chat through the model's
 * chat template.
 */
export function generateToEngineRequest(
  request: GenerateRequest,
  model: string,
  { hasChatTemplate }: { hasChatTemplate: boolean },
): { request: EngineRequest; path: EnginePath } {
  if (request.raw && (request.template || request.system)) {
    throw new InvalidRequestError("raw mode does not support template, system, or context", "raw");
  }
  const fields = samplingFields(request);
  if (request.suffix) {
    if (request.raw) {
      throw new InvalidRequestError(
        "raw mode does not support suffix: send the prompt and suffix without raw to fill in the middle",
        "suffix",
      );
    }
    return {
      request: {
        model,
        input_prefix: request.prompt,
        input_suffix: request.suffix,
        ...completionFields(fields),
      },
      path: "/infill",
    };
  }
  const completion = (prompt: string) => ({
    request: { model, prompt, ...completionFields(fields) },
    path: "/v1/completions" as const,
  });
  if (request.raw) return completion(request.prompt);
  if (request.template) {
    const values = { System: request.system ?? "", Prompt: request.prompt, Response: "", Suffix: "" };
    return completion(renderPromptTemplate(request.template, values));
  }
  if (!hasChatTemplate) return completion(request.prompt);
  const messages: Record<string, unknown>[] = [];
  if (request.system) messages.push({ role: "system", content: request.system });
  messages.push(
    request.images?.length
      ? {
          role: "user",
          content: [
            { type: "text", text: request.prompt },
            ...request.images.map((image) => ({
              type: "image_url",
              image_url: { url: `data:image/png;base64,${image}` },
            })),
          ],
        }
      : { role: "user", content: request.prompt },
  );
  const engine: EngineRequest = { model, messages, ...fields };
  if (typeof request.think === "boolean") engine.chat_template_kwargs = { enable_thinking: request.think };
  return { request: engine, path: "/v1/chat/completions" };
}
