import { z } from "zod";

const TextBlock = z.looseObject({ type: z.literal("text"), text: z.string() });

const ImageBlock = z.looseObject({
  type: z.literal("image"),
  source: z.union([
    z.looseObject({ type: z.literal("base64"), media_type: z.string().min(1), data: z.string().min(1) }),
    z.looseObject({ type: z.literal("url"), url: z.string().min(1) }),
  ]),
});

/** A document: its text reaches the engine; a PDF, a file or a URL it cannot read does not. */
const DocumentBlock = z.looseObject({
  type: z.literal("document"),
  title: z.string().nullish(),
  source: z.looseObject({
    type: z.string(),
    data: z.string().optional(),
    content: z
      .union([z.string(), z.array(z.looseObject({ type: z.string(), text: z.string().optional() }))])
      .optional(),
  }),
});

/** A search result a client hands the model (RAG): its title, source and text blocks. */
const SearchResultBlock = z.looseObject({
  type: z.literal("search_result"),
  source: z.string(),
  title: z.string(),
  content: z.array(TextBlock),
});

/**
 * A block of a type the engine has no use for: the results of Anthropic's server tools
 * (`server_tool_use`, `web_search_tool_result`, ...), references, containers. Dropped, so a
 * conversation that carries them still goes through.
 */
const UnsupportedBlock = z.object({ type: z.literal("unsupported"), original: z.string() });

/** Gives a block whose `type` is none of `known` the `unsupported` type, keeping the others as sent. */
function markUnsupported(known: ReadonlySet<string>) {
  return (block: unknown) => {
    if (block === null || typeof block !== "object") return block;
    const type = (block as { type?: unknown }).type;
    if (typeof type !== "string" || known.has(type)) return block;
    return { type: "unsupported", original: type };
  };
}

/** What a tool search answers: the deferred tool it makes available from now on. */
const ToolReferenceBlock = z.looseObject({ type: z.literal("tool_reference"), tool_name: z.string().min(1) });

const ToolResultContentBlock = z.preprocess(
  markUnsupported(new Set(["text", "image", "document", "search_result", "tool_reference"])),
  z.discriminatedUnion("type", [
    TextBlock,
    ImageBlock,
    DocumentBlock,
    SearchResultBlock,
    ToolReferenceBlock,
    UnsupportedBlock,
  ]),
);
export type ToolResultContentBlock = z.infer<typeof ToolResultContentBlock>;

const ToolUseBlock = z.looseObject({
  type: z.literal("tool_use"),
  id: z.string().min(1),
  name: z.string().min(1),
  input: z.record(z.string(), z.unknown()),
});

const ToolResultBlock = z.looseObject({
  type: z.literal("tool_result"),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(ToolResultContentBlock)]).optional(),
  is_error: z.boolean().optional(),
});

/** Earlier reasoning an assistant turn carries; the engine is not shown it again. */
const ThinkingBlock = z.looseObject({ type: z.enum(["thinking", "redacted_thinking"]) });

const contentBlockTypes = new Set([
  "text",
  "image",
  "document",
  "search_result",
  "tool_use",
  "tool_result",
  "thinking",
  "redacted_thinking",
]);

const ContentBlock = z.preprocess(
  markUnsupported(contentBlockTypes),
  z.discriminatedUnion("type", [
    TextBlock,
    ImageBlock,
    DocumentBlock,
    SearchResultBlock,
    ToolUseBlock,
    ToolResultBlock,
    ThinkingBlock,
    UnsupportedBlock,
  ]),
);
export type ContentBlock = z.infer<typeof ContentBlock>;

/**
 * A turn. `system` is not Anthropic's published shape but Claude Code sends it (instructions in the
 * middle of a conversation); its text joins the system prompt.
 */
const Message = z.looseObject({
  role: z.enum(["user", "assistant", "system"]),
  content: z.union([z.string(), z.array(ContentBlock).min(1, "content must hold at least one block")]),
});

const CustomTool = z.looseObject({
  type: z.literal("custom").optional(),
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,128}$/, "tool names are 1-128 letters, digits, '_' or '-'"),
  description: z.string().optional(),
  input_schema: z.looseObject({ type: z.literal("object") }),
  /** Shown to the model only once a tool search names it (a `tool_reference` block). */
  defer_loading: z.boolean().optional(),
});

/**
 * Anthropic's own tools (`web_search_20250305`, `bash_20250124`, `text_editor_...`): run by
 * Anthropic's servers or defined by schemas only Anthropic's models know. The engine cannot run
 * them, so they are left out of its tools.
 */
const AnthropicDefinedTool = z.looseObject({ type: z.literal("anthropic-defined"), original: z.string() });

const Tool = z.preprocess(
  (tool: unknown) => {
    if (tool === null || typeof tool !== "object") return tool;
    const type = (tool as { type?: unknown }).type;
    if (typeof type !== "string" || type === "custom") return tool;
    return { type: "anthropic-defined", original: type };
  },
  z.discriminatedUnion("type", [CustomTool, AnthropicDefinedTool]),
);

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

/** Extended thinking: `enabled` with a budget, `adaptive` (the model decides), or `disabled`. */
const Thinking = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("enabled"), budget_tokens: z.number().int().min(0) }),
  z.looseObject({ type: z.literal("adaptive") }),
  z.looseObject({ type: z.literal("disabled") }),
]);

/** Structured output: `output_config.format` (and the older `output_format`). */
const OutputFormat = z.looseObject({
  type: z.literal("json_schema"),
  schema: z.record(z.string(), z.unknown()),
});

const conversation = {
  model: z.string().min(1),
  messages: z
    .array(Message)
    .min(1, "messages must hold at least one message")
    .refine((messages) => messages.some((message) => message.role !== "system"), {
      message: "messages must hold at least one user or assistant turn besides system messages",
    }),
  system: z.union([z.string(), z.array(TextBlock)]).optional(),
  tools: z.array(Tool).max(128).optional(),
  tool_choice: ToolChoice.optional(),
  thinking: Thinking.optional(),
};

/**
 * `POST /v1/messages`: the fields herd reads. Others the engine has no use for (`metadata`,
 * `cache_control` on blocks and tools, `context_management`, `service_tier`, `container`, ...) are
 * accepted and ignored, as clients built for Anthropic's API send them unasked.
 */
export const MessagesRequest = z.looseObject({
  ...conversation,
  max_tokens: z.number().int().min(1).max(1_000_000),
  stop_sequences: z.array(z.string().min(1)).max(16).optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  stream: z.boolean().optional(),
  output_config: z.looseObject({ format: OutputFormat.nullish() }).optional(),
  output_format: OutputFormat.nullish(),
});
export type MessagesRequest = z.infer<typeof MessagesRequest>;

/** `POST /v1/messages/count_tokens`. */
export const CountTokensRequest = z.looseObject(conversation);
export type CountTokensRequest = z.infer<typeof CountTokensRequest>;
