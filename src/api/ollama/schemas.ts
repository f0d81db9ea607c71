import { z } from "zod";

/** Ollama's `options`: the sampling ones the engine honours; the rest (num_gpu, ...) are accepted. */
export const OllamaOptions = z.looseObject({
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  min_p: z.number().min(0).max(1).optional(),
  typical_p: z.number().min(0).max(1).optional(),
  /** Tokens to generate; -1 without limit, -2 until the context is full. */
  num_predict: z.number().int().min(-2).max(1_000_000).optional(),
  /** The context is set when the model is loaded (`herd load --ctx`); a request cannot change it. */
  num_ctx: z.number().int().min(1).optional(),
  stop: z.array(z.string()).max(16).optional(),
  seed: z.number().int().optional(),
  repeat_penalty: z.number().min(0).optional(),
  repeat_last_n: z.number().int().min(-1).optional(),
  presence_penalty: z.number().optional(),
  frequency_penalty: z.number().optional(),
  mirostat: z.number().int().min(0).max(2).optional(),
  mirostat_tau: z.number().optional(),
  mirostat_eta: z.number().optional(),
});
export type OllamaOptions = z.infer<typeof OllamaOptions>;

/** `format`: "json", or a JSON schema the answer must follow. */
const Format = z.union([z.literal("json"), z.literal(""), z.looseObject({ type: z.string().optional() })]);

/** `keep_alive`: how long to keep the model loaded (herd keeps it until `herd unload`). */
const KeepAlive = z.union([z.string(), z.number()]);

const OllamaToolCall = z.looseObject({
  function: z.looseObject({
    name: z.string().min(1),
    arguments: z.union([z.record(z.string(), z.unknown()), z.string()]),
  }),
});

const ChatMessage = z.looseObject({
  role: z.enum(["system", "user", "assistant", "tool"]),
  content: z.string().default(""),
  images: z.array(z.string()).optional(),
  tool_calls: z.array(OllamaToolCall).optional(),
  /** The tool a `tool` message answers. */
  tool_name: z.string().optional(),
  thinking: z.string().optional(),
});

const Tool = z.looseObject({
  type: z.literal("function").default("function"),
  function: z.looseObject({
    name: z.string().min(1),
    description: z.string().optional(),
    parameters: z.looseObject({}).optional(),
  }),
});

const common = {
  model: z.string().min(1),
  format: Format.optional(),
  options: OllamaOptions.optional(),
  /**
   * Not Ollama's API, which reads sampling only from `options`: the Vercel AI SDK's Ollama provider
   * (ollama-ai-provider-v2) sends these at the top level, and its users expect them honoured.
   * `options` wins where both are given.
   */
  temperature: OllamaOptions.shape.temperature,
  top_p: OllamaOptions.shape.top_p,
  max_output_tokens: z.number().int().min(1).max(1_000_000).optional(),
  stream: z.boolean().optional(),
  keep_alive: KeepAlive.optional(),
  think: z.union([z.boolean(), z.string()]).optional(),
};

/** `POST /api/chat`. */
export const ChatRequest = z.looseObject({
  ...common,
  messages: z.array(ChatMessage).default([]),
  tools: z.array(Tool).max(128).optional(),
  /**
   * herd's extension (Ollama has none): OpenAI's `tool_choice`, passed to the engine, e.g.
   * "required" to make the model answer with a tool call.
   */
  tool_choice: z
    .union([z.enum(["auto", "required", "none"]), z.looseObject({ type: z.literal("function") })])
    .optional(),
});
export type ChatRequest = z.infer<typeof ChatRequest>;

/** `POST /api/generate`. */
export const GenerateRequest = z.looseObject({
  ...common,
  prompt: z.string().default(""),
  /** Fill in the middle: the text that follows the answer (models with FIM tokens). */
  suffix: z.string().optional(),
  system: z.string().optional(),
  /** An Ollama (Go) template for this request in place of the model's; see renderPromptTemplate. */
  template: z.string().optional(),
  /** Send the prompt as it is, without the chat template. */
  raw: z.boolean().optional(),
  images: z.array(z.string()).optional(),
});
export type GenerateRequest = z.infer<typeof GenerateRequest>;

/** `POST /api/embed`. */
export const EmbedRequest = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string().min(1), z.array(z.string().min(1)).min(1, "input must not be empty")]),
  truncate: z.boolean().optional(),
  options: OllamaOptions.optional(),
  keep_alive: KeepAlive.optional(),
  dimensions: z.number().int().min(1).optional(),
});

/** `POST /api/embeddings` (the older form). */
export const EmbeddingsRequest = z.looseObject({
  model: z.string().min(1),
  prompt: z.string().min(1),
  options: OllamaOptions.optional(),
  keep_alive: KeepAlive.optional(),
});

/** `/api/show`, `/api/delete`, `/api/pull`: a model by `model` or, in older clients, `name`. */
export const ModelReference = z
  .looseObject({ model: z.string().min(1).optional(), name: z.string().min(1).optional() })
  .refine((body) => body.model !== undefined || body.name !== undefined, {
    message: "model is required",
    path: ["model"],
  });

export const PullRequest = z
  .looseObject({
    model: z.string().min(1).optional(),
    name: z.string().min(1).optional(),
    insecure: z.boolean().optional(),
    stream: z.boolean().optional(),
  })
  .refine((body) => body.model !== undefined || body.name !== undefined, {
    message: "model is required",
    path: ["model"],
  });
