import type { ChunkShape } from "./reply-so-far.js";

/** The engine paths whose streamed replies can be continued on another instance. */
export type ContinuablePath = "/v1/chat/completions" | "/v1/completions";

export interface ContinuationPlan {
  path: ContinuablePath;
  /** The request as sent to the engine: the client's, asked for each token's id as well. */
  engineBody: Record<string, unknown>;
  /** The request has stop strings (the engine may hold text back while it checks them). */
  stopStrings: boolean;
  /** `stream_options.include_usage`: a chat reply ends with a chunk that has the usage. */
  includeUsage: boolean;
  /** The client asked for the whole reply: the engine streams it anyway, and herd puts it together. */
  whole: boolean;
}

/** Chat fields that constrain or shape generation in ways a plain continuation cannot carry on. */
const constrainingFields = ["response_format", "json_schema", "grammar", "tools"];

/** Fields of a chat request that have no meaning for the text completion that continues it. */
const chatOnlyFields = [
  "messages",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "response_format",
  "chat_template",
  "chat_template_kwargs",
  "reasoning_format",
  "thinking_budget_tokens",
  "add_generation_prompt",
  "continue_final_message",
  "return_progress",
  "stream_options",
  "max_completion_tokens",
  "logprobs",
  "top_logprobs",
];

/**
 * What a continuable request adds for the engine: the id of each token it sends (`n_probs: 1` with
 * `post_sampling_probs`, which needs no extra sort). Not free: llama-server writes each token's
 * probability, bytes and top candidate into its chunk (twice the bytes a token), which cost it 4-5%
 * of its decode rate at 3,000 tokens/s on two cores (`npm run bench -- overhead --floor` shows it
 * apart).
 */
export const tokenIdFields = { n_probs: 1, post_sampling_probs: true } as const;

/**
 * Whether a request's reply can be continued on another instance, and the engine request that
 * makes it so (always streamed: a whole reply is put together from the stream); undefined when it
 * cannot: another path, a client that asked for log probabilities itself, several choices, or a
 * constrained generation (tools, a grammar, a JSON schema), whose constraint would start over in
 * the continuation.
 */
export function continuationPlan(path: string, body: unknown): ContinuationPlan | undefined {
  if (path !== "/v1/chat/completions" && path !== "/v1/completions") return undefined;
  if (typeof body !== "object" || body === null) return undefined;
  const request = body as Record<string, unknown>;
  if (request.logprobs || request.n_probs || request.echo) return undefined;
  if (typeof request.n === "number" && request.n > 1) return undefined;
  const constrained = constrainingFields.some((field) => {
    const value = request[field];
    if (value === undefined || value === null) return false;
    if (field === "tools") return Array.isArray(value) && value.length > 0 && request.tool_choice !== "none";
    if (field === "response_format") return (value as { type?: unknown }).type !== "text";
    return true;
  });
  if (constrained) return undefined;
  if (path === "/v1/completions" && promptPrefix(request.prompt) === undefined) return undefined;
  const stop = request.stop;
  const whole = request.stream !== true;
  const engineBody = { ...request, ...tokenIdFields };
  if (whole) Object.assign(engineBody, { stream: true, stream_options: { include_usage: true } });
  return {
    path,
    engineBody,
    stopStrings: typeof stop === "string" ? stop !== "" : Array.isArray(stop) && stop.length > 0,
    includeUsage:
      whole || (request.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true,
    whole,
  };
}

/**
 * The text completion that continues a reply: the prompt as the engine saw it (for a chat, the
 * chat template's output, which the engine tokenizes as it did the first time), then the ids of
 * the tokens already generated; the budget left; every other setting as the client sent it.
 */
export function continuationBody(
  plan: ContinuationPlan,
  templatedPrompt: string | undefined,
  tokens: readonly number[],
): Record<string, unknown> {
  const original = plan.engineBody;
  const body: Record<string, unknown> = { ...original };
  let prompt: Array<string | number>;
  if (plan.path === "/v1/chat/completions") {
    for (const field of chatOnlyFields) delete body[field];
    prompt = [templatedPrompt ?? "", ...tokens];
  } else {
    prompt = [...(promptPrefix(original.prompt) ?? []), ...tokens];
  }
  body.prompt = prompt;
  const budget = maxTokensOf(original);
  if (budget !== undefined) {
    delete body.max_completion_tokens;
    delete body.n_predict;
    body.max_tokens = Math.max(0, budget - tokens.length);
  }
  body.stream = true;
  return body;
}

/** A completion's prompt as one mixed array (strings and token ids), or undefined for several prompts. */
function promptPrefix(prompt: unknown): Array<string | number> | undefined {
  if (typeof prompt === "string") return [prompt];
  if (!Array.isArray(prompt) || prompt.length === 0) return undefined;
  if (prompt.every((item) => typeof item === "number")) return prompt as number[];
  // An array of strings only is several prompts; a mix of strings and ids is one.
  if (prompt.every((item) => typeof item === "string")) return prompt.length === 1 ? prompt : undefined;
  return prompt.every((item) => typeof item === "string" || typeof item === "number") ? prompt : undefined;
}

function maxTokensOf(request: Record<string, unknown>): number | undefined {
  for (const field of ["max_tokens", "max_completion_tokens", "n_predict"]) {
    const value = request[field];
    if (typeof value === "number" && value >= 0) return value;
  }
  return undefined;
}

/** A continuation's chunk as the engine sent it (a text completion chunk). */
export interface ContinuationChunk {
  choices?: Array<{ text?: string; finish_reason?: string | null }>;
  usage?: {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens?: number;
    [field: string]: unknown;
  };
  timings?: unknown;
  __verbose?: unknown;
}

/**
 * A continuation's chunk as the reply's own protocol (chat or text completion), with the reply's
 * id, model and creation time: the client sees one reply. `text` is the part not sent before; the
 * usage counts the whole reply (the generated tokens the continuation read as prompt are the
 * reply's, not the prompt's). Returns the SSE events to send, none for an empty partial chunk.
 */
export function continuationEvents(
  plan: ContinuationPlan,
  shape: ChunkShape,
  chunk: ContinuationChunk,
  text: string,
  carriedTokens: number,
): string[] {
  const finishReason = chunk.choices?.[0]?.finish_reason ?? null;
  const usage = chunk.usage && {
    ...chunk.usage,
    prompt_tokens: chunk.usage.prompt_tokens - carriedTokens,
    completion_tokens: chunk.usage.completion_tokens + carriedTokens,
  };
  const common = {
    created: shape.created,
    id: shape.id,
    model: shape.model,
    ...(shape.systemFingerprint !== undefined ? { system_fingerprint: shape.systemFingerprint } : {}),
  };
  const events: object[] = [];
  if (plan.path === "/v1/completions") {
    if (text === "" && finishReason === null) return [];
    events.push({
      choices: [{ text, index: 0, logprobs: null, finish_reason: finishReason }],
      created: shape.created,
      model: shape.model,
      ...(shape.systemFingerprint !== undefined ? { system_fingerprint: shape.systemFingerprint } : {}),
      object: "text_completion",
      ...(usage ? { usage } : {}),
      id: shape.id,
      ...extras(chunk),
    });
    return events.map(sse);
  }
  const object = "chat.completion.chunk";
  if (text !== "") {
    events.push({
      choices: [{ finish_reason: null, index: 0, delta: { content: text } }],
      ...common,
      object,
    });
  }
  if (finishReason !== null) {
    const finish: Record<string, unknown> = {
      choices: [{ finish_reason: finishReason, index: 0, delta: {} }],
      ...common,
      object,
    };
    if (chunk.__verbose !== undefined) finish.__verbose = chunk.__verbose;
    events.push(finish);
    const last = plan.includeUsage && usage ? { choices: [], ...common, object, usage } : finish;
    if (last !== finish) events.push(last);
    if (chunk.timings !== undefined) (last as Record<string, unknown>).timings = chunk.timings;
  }
  return events.map(sse);
}

function extras(chunk: ContinuationChunk): object {
  return {
    ...(chunk.timings !== undefined ? { timings: chunk.timings } : {}),
    ...(chunk.__verbose !== undefined && chunk.usage ? { __verbose: chunk.__verbose } : {}),
  };
}

const sse = (value: object) => `data: ${JSON.stringify(value)}`;
