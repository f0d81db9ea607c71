import { describe, expect, it } from "vitest";
import { mapError } from "../error-mapping.js";
import { MessagesRequest } from "./schemas.js";

const base = { model: "m", max_tokens: 5, messages: [{ role: "user", content: "hi" }] };
const weather = { name: "get_weather", input_schema: { type: "object" } };

/** What stays refused, while what the engine merely cannot use is accepted (to-engine-request.test.ts). */
describe("MessagesRequest", () => {
  it.each<[string, object, string]>([
    ["no max_tokens", { max_tokens: undefined }, "'max_tokens'"],
    ["no messages", { messages: [] }, "'messages': messages must hold at least one message"],
    [
      "system messages alone",
      { messages: [{ role: "system", content: "x" }] },
      "'messages': messages must hold at least one user or assistant turn",
    ],
    ["a role that is not a turn", { messages: [{ role: "tool", content: "x" }] }, "'messages.0.role'"],
    [
      "content that is neither text nor blocks",
      { messages: [{ role: "user", content: 42 }] },
      "'messages.0.content'",
    ],
    ["no blocks", { messages: [{ role: "user", content: [] }] }, "content must hold at least one block"],
    [
      "a text block without text",
      { messages: [{ role: "user", content: [{ type: "text" }] }] },
      "'messages.0.content.0.text'",
    ],
    [
      "a block type that is not a string",
      { messages: [{ role: "user", content: [{ type: 7 }] }] },
      "'messages.0.content.0.type'",
    ],
    [
      "a tool_use block without an id",
      { messages: [{ role: "assistant", content: [{ type: "tool_use", name: "f", input: {} }] }] },
      "'messages.0.content.0.id'",
    ],
    ["a custom tool without input_schema", { tools: [{ name: "f" }] }, "'tools.0.input_schema'"],
    ["a tool with a bad name", { tools: [{ ...weather, name: "a b" }] }, "tool names are"],
    ["thinking enabled without a budget", { thinking: { type: "enabled" } }, "'thinking.budget_tokens'"],
    ["an unknown thinking type", { thinking: { type: "sometimes" } }, "'thinking.type'"],
    ["a temperature above 1", { temperature: 1.5 }, "'temperature'"],
    ["a stop sequence that is not a string", { stop_sequences: [1] }, "'stop_sequences.0'"],
  ])("rejects %s", (_name, request, mentions) => {
    const parsed = MessagesRequest.safeParse({ ...base, ...request });
    expect(parsed.success).toBe(false);
    const mapped = mapError(parsed.error);
    expect(mapped.status).toBe(400);
    expect(mapped.message).toContain(mentions);
  });
});
