import { z } from "zod";

const TextBlock = z.looseObject({ type: z.literal("text"), text: z.string() });

const ImageBlock = z.looseObject({
  type: z.literal("image"),
  source: z.union([
    z.looseObject({ type: z.literal("base64"), media_type: z.string().min(1), data: z.string().min(1) }),
    z.looseObject({ type: z.literal("url"), url: z.string().min(1) }),
  ]),
});

const ToolUseBlock = z.looseObject({
  type: z.literal("tool_use"),
  id: z.string().min(1),
  name: z.string().min(1),
  input: z.record(z.string(), z.unknown()),
});

const ToolResultBlock = z.looseObject({
  type: z.literal("tool_result"),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(z.union([TextBlock, ImageBlock]))]).optional(),
  is_error: z.boolean().optional(),
});

/** Earlier reasoning an assistant turn carries; the engine is not shown it again. */
const ThinkingBlock = z.looseObject({ type: z.enum(["thinking", "redacted_thinking"]) });

const ContentBlock = z.discriminatedUnion("type", [
  TextBlock,
  ImageBlock,
  ToolUseBlock,
  ToolResultBlock,
  ThinkingBlock,
]);
export type ContentBlock = z.infer<typeof ContentBlock>;

const Message = z.looseObject({
  role: z.enum(["user", "assistant"]),
  content: z.union([z.string(), z.array(ContentBlock).min(1, "content must hold at least one block")]),
});

const Tool = z.looseObject({
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,128}$/, "tool names are 1-128 letters, digits, '_' or '-'"),
  description: z.string().optional(),
  input_schema: z.looseObject({ type: z.literal("object") }),
});

const ToolChoice = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("auto"), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal("any"), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({
    type: z.literal("tool"),
    name: z.string().min(1),
    disable_parallel_tool_use: z.boolean().optional(),
  }),
  z.looseObject({ type: z.literal("none") }),
]);

const conversation = {
  model: z.string().min(1),
  messages: z.array(Message).min(1, "messages must hold at least one message"),
  system: z.union([z.string(), z.array(TextBlock)]).optional(),
  tools: z.array(Tool).max(128).optional(),
  tool_choice: ToolChoice.optional(),
};

/** `POST /v1/messages`: the fields herd reads; others (metadata, service_tier, ...) are accepted. */
export const MessagesRequest = z.looseObject({
  ...conversation,
  max_tokens: z.number().int().min(1).max(1_000_000),
  stop_sequences: z.array(z.string().min(1)).max(16).optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  stream: z.boolean().optional(),
});
export type MessagesRequest = z.infer<typeof MessagesRequest>;

/** `POST /v1/messages/count_tokens`. */
export const CountTokensRequest = z.looseObject(conversation);
export type CountTokensRequest = z.infer<typeof CountTokensRequest>;
