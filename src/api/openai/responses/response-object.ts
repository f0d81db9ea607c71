import type { FinishReason, Usage } from "../../chat/stream-part.js";
import type { ConversationItem, ResponsesRequest } from "./schemas.js";

/** What one response is known by before the engine answers: its id, when, for which request. */
export interface ResponseContext {
  id: string;
  /** Unix seconds. */
  createdAt: number;
  /** The model as the client named it. */
  model: string;
  request: ResponsesRequest;
  /** A new item id with the given prefix (`msg`, `fc`, `rs`). */
  newItemId(prefix: string): string;
  /** Unix seconds now, for `completed_at`. */
  now(): number;
}

export type ItemStatus = "in_progress" | "completed" | "incomplete";

export type OutputText = { type: "output_text"; text: string; annotations: never[]; logprobs: never[] };

export type ReasoningText = { type: "reasoning_text"; text: string };

export type OutputItem =
  | { type: "message"; id: string; role: "assistant"; status: ItemStatus; content: OutputText[] }
  | { type: "reasoning"; id: string; status: ItemStatus; summary: never[]; content: ReasoningText[] }
  | {
      type: "function_call";
      id: string;
      status: ItemStatus;
      call_id: string;
      name: string;
      arguments: string;
    };

export type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed";

export interface ResponseOutcome {
  status: ResponseStatus;
  output: OutputItem[];
  usage?: Usage;
  /** Why a failed response failed, in the Responses API's `error` shape. */
  error?: { code: string; message: string };
}

export type ResponseObject = ReturnType<typeof responseObject>;

/** How an answer's end reads in a response's status. */
export function statusOf(reason: FinishReason): "completed" | "incomplete" {
  return reason === "length" ? "incomplete" : "completed";
}

/**
 * The Responses API's `Response` object, with every field the OpenAI SDKs declare: the request's
 * settings echoed, the output so far, and for a finished answer its usage and why it ended.
 */
export function responseObject(context: ResponseContext, outcome: ResponseOutcome) {
  const { request } = context;
  const finished = outcome.status === "completed" || outcome.status === "incomplete";
  return {
    id: context.id,
    object: "response" as const,
    created_at: context.createdAt,
    status: outcome.status,
    background: false,
    completed_at: outcome.status === "completed" ? context.now() : null,
    error: outcome.error ?? null,
    incomplete_details: outcome.status === "incomplete" ? { reason: "max_output_tokens" as const } : null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    max_tool_calls: null,
    model: context.model,
    output: outcome.output,
    output_text: outputText(outcome.output),
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: request.previous_response_id ?? null,
    prompt_cache_key: null,
    reasoning: { effort: null, summary: null },
    safety_identifier: null,
    service_tier: "default",
    store: request.store !== false,
    // Unset sampling settings are the engine's defaults, which herd does not know: null, not OpenAI's 1.
    temperature: request.temperature ?? null,
    text: { format: request.text?.format ?? { type: "text" }, verbosity: "medium" },
    tool_choice: request.tool_choice ?? "auto",
    tools: request.tools ?? [],
    top_logprobs: 0,
    top_p: request.top_p ?? null,
    truncation: "disabled",
    usage: finished && outcome.usage ? usageOf(outcome.usage) : null,
    user: null,
    metadata: isRecord(request.metadata) ? request.metadata : {},
    access_programs: null,
  };
}

/** The Responses API's usage; the engine does not count reasoning tokens apart from the rest. */
export function usageOf(usage: Usage) {
  return {
    input_tokens: usage.promptTokens,
    input_tokens_details: { cached_tokens: usage.cachedPromptTokens ?? 0 },
    output_tokens: usage.completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.promptTokens + usage.completionTokens,
  };
}

/** The text of all output messages, which the SDKs offer as `output_text`. */
function outputText(output: OutputItem[]): string {
  return output
    .flatMap((item) => (item.type === "message" ? item.content.map((part) => part.text) : []))
    .join("");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Output items as items of the conversation they continue (reasoning is kept, and not shown again). */
export function asConversationItems(output: OutputItem[]): ConversationItem[] {
  return output.map((item) => (item.type === "reasoning" ? { ...item, skipped: true as const } : item));
}
