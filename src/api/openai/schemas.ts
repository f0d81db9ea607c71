import { z } from "zod";

const role = z.enum(["system", "developer", "user", "assistant", "tool", "function"]);

const contentPart = z.looseObject({ type: z.string() });

export const ChatMessage = z.looseObject({
  role,
  content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
});

const maxTokens = z.number().int().min(1).max(1_000_000).nullish();
const samplingFields = {
  stream: z.boolean().optional(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  max_tokens: maxTokens,
  n: z.literal(1, { message: "herd generates one choice per request; n must be 1" }).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(16)]).nullish(),
  seed: z.number().int().nullish(),
};

/** The fields herd checks; everything else goes to the engine as sent. */
export const ChatCompletionRequest = z.looseObject({
  model: z.string().min(1),
  messages: z.array(ChatMessage).min(1, "messages must hold at least one message"),
  max_completion_tokens: maxTokens,
  ...samplingFields,
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

const tokenArray = z.array(z.number().int().nonnegative());

export const CompletionRequest = z.looseObject({
  model: z.string().min(1),
  prompt: z.union([
    z.string(),
    z.array(z.string()).min(1),
    tokenArray.min(1),
    z.array(tokenArray).min(1),
    // One prompt of text then token ids (a continued reply's: the templated prompt, then the reply's
    // ids). Checked whole, so that a malformed prompt of another form is still reported by its field.
    z.custom<[string, ...number[]]>(
      (value) =>
        Array.isArray(value) &&
        value.length > 1 &&
        typeof value[0] === "string" &&
        value.slice(1).every((item) => Number.isInteger(item) && item >= 0),
    ),
  ]),
  ...samplingFields,
});
export type CompletionRequest = z.infer<typeof CompletionRequest>;

export const EmbeddingRequest = z.looseObject({
  model: z.string().min(1),
  input: z.union([
    z.string().min(1),
    z.array(z.string()).min(1, "input must not be empty"),
    tokenArray.min(1),
    z.array(tokenArray).min(1),
  ]),
  encoding_format: z.enum(["float", "base64"]).optional(),
});
export type EmbeddingRequest = z.infer<typeof EmbeddingRequest>;

/**
 * `POST /infill`: llama-server's own fill-in-the-middle API, passed through. herd's Ollama
 * `suffix` uses it, and a node forwards it here when another node heads the model.
 */
export const InfillRequest = z.looseObject({
  model: z.string().min(1),
  input_prefix: z.string(),
  input_suffix: z.string(),
  prompt: z.string().optional(),
  stream: z.boolean().optional(),
});
