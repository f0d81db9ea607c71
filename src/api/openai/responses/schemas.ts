import { z } from "zod";

const InputText = z.looseObject({ type: z.literal("input_text"), text: z.string() });
const OutputText = z.looseObject({ type: z.literal("output_text"), text: z.string() });
const Refusal = z.looseObject({ type: z.literal("refusal"), refusal: z.string() });
const imageUrlNeeded = "herd keeps no files: send the image itself, as a data: or http(s) URL in image_url";
const InputImage = z.looseObject({
  type: z.literal("input_image"),
  image_url: z.string({ error: imageUrlNeeded }).min(1, imageUrlNeeded),
});

const ContentPart = z.discriminatedUnion("type", [InputText, OutputText, Refusal, InputImage], {
  error: "content parts are input_text, input_image, output_text or refusal (herd reads no input_file)",
});
export type ContentPart = z.infer<typeof ContentPart>;

/** Content as a string or a list of parts; a string is one text part. */
const Content = z.preprocess(
  (value) => (typeof value === "string" ? [{ type: "input_text", text: value }] : value),
  z.array(ContentPart, { error: "content is a string or a list of content parts" }),
);

const MessageItem = z.looseObject({
  type: z.literal("message"),
  role: z.enum(["user", "assistant", "system", "developer"]),
  content: Content,
});

const FunctionCallItem = z.looseObject({
  type: z.literal("function_call"),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
  id: z.string().optional(),
});

const FunctionCallOutputItem = z.looseObject({
  type: z.literal("function_call_output"),
  call_id: z.string().min(1),
  output: Content,
});

/** An item another response produced, named by its id; herd finds it among the responses it keeps. */
const ItemReference = z.looseObject({ type: z.literal("item_reference"), id: z.string().min(1) });

/** The item types herd turns into the engine's conversation; the schemas they must match. */
const readItems = {
  message: MessageItem,
  function_call: FunctionCallItem,
  function_call_output: FunctionCallOutputItem,
  item_reference: ItemReference,
} as const;

/**
 * One item of `input`. A message may leave out its `type`. An item of another type is kept, marked
 * `skipped`, rather than refused, so that agents replaying their history are served: earlier
 * reasoning (the engine's templates take none back), and calls and results of tools herd never
 * offers the model (web search, shells, custom tools), which a conversation may carry from another
 * server.
 */
const InputItem = z.looseObject({ type: z.string().optional() }).transform((item, context) => {
  const type = item.type ?? "message";
  const schema = readItems[type as keyof typeof readItems];
  if (!schema) return { ...item, type, skipped: true as const };
  const parsed = schema.safeParse({ ...item, type });
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) context.issues.push({ ...issue, input: item } as never);
  return z.NEVER;
});
export type InputItem = z.infer<typeof InputItem>;
export type ItemReference = z.infer<typeof ItemReference>;
export type ConversationItem = Exclude<InputItem, ItemReference>;

export function isItemReference(item: InputItem): item is ItemReference {
  return item.type === "item_reference" && !("skipped" in item);
}

const FunctionTool = z.looseObject({
  type: z.literal("function"),
  name: z.string().min(1),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

/** Tools of other types (Codex sends `custom`, `local_shell`, `web_search`): accepted, not offered. */
const Tool = z.looseObject({ type: z.string() }).transform((tool, context) => {
  if (tool.type !== "function") return tool;
  const parsed = FunctionTool.safeParse(tool);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) context.issues.push({ ...issue, input: tool } as never);
  return z.NEVER;
});

export type Tool = z.infer<typeof Tool>;
export type FunctionTool = z.infer<typeof FunctionTool>;

/** A tool the engine is offered; `Tool` has checked every tool of type `function` as one. */
export function isFunctionTool(tool: Tool): tool is FunctionTool {
  return tool.type === "function";
}

const ToolChoice = z.union([
  z.enum(["auto", "none", "required"]),
  z.looseObject({ type: z.literal("function"), name: z.string().min(1) }),
  z.looseObject({ type: z.literal("allowed_tools"), mode: z.enum(["auto", "required"]) }),
  // A hosted or custom tool: herd offers none, so the choice is dropped.
  z.looseObject({ type: z.string().refine((type) => type !== "function" && type !== "allowed_tools") }),
]);

const TextFormat = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("text") }),
  z.looseObject({ type: z.literal("json_object") }),
  z.looseObject({
    type: z.literal("json_schema"),
    name: z.string().min(1),
    schema: z.record(z.string(), z.unknown()),
    description: z.string().optional(),
    strict: z.boolean().nullish(),
  }),
]);

/**
 * `POST /v1/responses`: the fields herd reads. Others (reasoning, include, metadata, store's
 * siblings such as prompt_cache_key, service_tier, truncation, user) are accepted and have no effect
 * on the engine.
 */
export const ResponsesRequest = z.looseObject({
  model: z.string().min(1),
  /** A string is one user message. */
  input: z.preprocess(
    (value) => (typeof value === "string" && value !== "" ? [{ role: "user", content: value }] : value),
    z
      .array(InputItem, { error: "input is a non-empty string or a list of items" })
      .min(1, "input must not be empty"),
  ),
  instructions: z.string().nullish(),
  previous_response_id: z.string().min(1).nullish(),
  tools: z.array(Tool).nullish(),
  tool_choice: ToolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.looseObject({ format: TextFormat.nullish() }).nullish(),
  max_output_tokens: z.number().int().min(1).max(1_000_000).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  /** Not in OpenAI's API; llama-server's, for repeatable sampling. */
  seed: z.number().int().nullish(),
  store: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  conversation: z
    .null({ error: "herd keeps no conversation objects; continue a conversation with previous_response_id" })
    .optional(),
});
export type ResponsesRequest = z.infer<typeof ResponsesRequest>;
