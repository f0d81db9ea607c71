import { describe, expect, it } from "vitest";
import { mapError } from "../../error-mapping.js";
import { ResponsesRequest } from "./schemas.js";
import { toEngineRequest } from "./to-engine-request.js";

const engineRequestOf = (request: object) => {
  const parsed = ResponsesRequest.parse({ model: "m", ...request });
  return toEngineRequest(parsed, parsed.input as never, "m");
};

describe("toEngineRequest", () => {
  it.each([
    [
      "a string input with instructions, the output limit and sampling",
      {
        input: "Once upon a time",
        instructions: "Tell a story.",
        max_output_tokens: 16,
        temperature: 0,
        top_p: 0.5,
        seed: 7,
        // Accepted, and nothing the engine is told.
        reasoning: { effort: "high", summary: "auto" },
        include: ["reasoning.encrypted_content"],
        prompt_cache_key: "k",
        metadata: { a: "b" },
        user: "u",
        truncation: "auto",
        service_tier: "auto",
        store: false,
        stream_options: { include_obfuscation: false },
      },
      {
        model: "m",
        messages: [
          { role: "system", content: "Tell a story." },
          { role: "user", content: "Once upon a time" },
        ],
        max_tokens: 16,
        temperature: 0,
        top_p: 0.5,
        seed: 7,
      },
    ],
    [
      "items: system and developer messages gathered first, images, calls joined to the assistant turn, outputs as tool messages, reasoning and foreign tools' items left out",
      {
        instructions: "Be brief.",
        input: [
          { role: "developer", content: "You are a coding agent." },
          { type: "message", role: "user", content: [{ type: "input_text", text: "Weather in Paris?" }] },
          { type: "reasoning", id: "rs_1", summary: [], encrypted_content: null },
          {
            type: "message",
            role: "assistant",
            id: "msg_1",
            status: "completed",
            content: [{ type: "output_text", text: "Let me look.", annotations: [] }],
          },
          {
            type: "function_call",
            id: "fc_1",
            call_id: "c1",
            name: "get_weather",
            arguments: '{"city":"Paris"}',
          },
          { type: "function_call", call_id: "c2", name: "get_time", arguments: "{}" },
          { type: "function_call_output", call_id: "c1", output: "sunny" },
          {
            type: "function_call_output",
            call_id: "c2",
            output: [{ type: "input_text", text: "noon" }],
          },
          { type: "web_search_call", id: "ws_1", status: "completed" },
          { type: "custom_tool_call", call_id: "c3", name: "apply_patch", input: "*** Begin Patch" },
          { type: "custom_tool_call_output", call_id: "c3", output: "done" },
          { role: "system", content: "Answer in French." },
          {
            role: "user",
            content: [
              { type: "input_text", text: "And this?" },
              { type: "input_image", image_url: "data:image/png;base64,AAAA", detail: "auto" },
            ],
          },
        ],
      },
      {
        model: "m",
        messages: [
          { role: "system", content: "Be brief.\n\nYou are a coding agent.\n\nAnswer in French." },
          { role: "user", content: "Weather in Paris?" },
          {
            role: "assistant",
            content: "Let me look.",
            tool_calls: [
              {
                id: "c1",
                type: "function",
                function: { name: "get_weather", arguments: '{"city":"Paris"}' },
              },
              { id: "c2", type: "function", function: { name: "get_time", arguments: "{}" } },
            ],
          },
          { role: "tool", tool_call_id: "c1", content: "sunny" },
          { role: "tool", tool_call_id: "c2", content: "noon" },
          {
            role: "user",
            content: [
              { type: "text", text: "And this?" },
              { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
            ],
          },
        ],
      },
    ],
    [
      "function tools offered, other tools dropped, a forced function, a JSON schema for the text",
      {
        input: "Weather?",
        tools: [
          { type: "function", name: "get_weather", parameters: { type: "object" }, strict: true },
          { type: "function", name: "ping", description: "Ping.", parameters: null },
          { type: "custom", name: "apply_patch", format: { type: "grammar" } },
          { type: "local_shell" },
          { type: "web_search", user_location: { type: "approximate" } },
        ],
        tool_choice: { type: "function", name: "get_weather" },
        parallel_tool_calls: false,
        text: {
          format: { type: "json_schema", name: "answer", schema: { type: "object" }, strict: true },
          verbosity: "low",
        },
      },
      {
        model: "m",
        messages: [{ role: "user", content: "Weather?" }],
        tools: [
          {
            type: "function",
            function: { name: "get_weather", description: "", parameters: { type: "object" } },
          },
          {
            type: "function",
            function: { name: "ping", description: "Ping.", parameters: { type: "object", properties: {} } },
          },
        ],
        tool_choice: { type: "function", function: { name: "get_weather" } },
        parallel_tool_calls: false,
        response_format: {
          type: "json_schema",
          json_schema: { name: "answer", schema: { type: "object" }, strict: true },
        },
      },
    ],
    [
      "only tools herd does not offer, with a choice among them: no tools at all",
      {
        input: "Search",
        tools: [{ type: "web_search_preview" }, { type: "custom", name: "apply_patch" }],
        tool_choice: { type: "web_search_preview" },
        text: { format: { type: "json_object" } },
      },
      {
        model: "m",
        messages: [{ role: "user", content: "Search" }],
        response_format: { type: "json_object" },
      },
    ],
  ])("converts %s", (_name, request, expected) => {
    expect(engineRequestOf(request)).toEqual(expected);
  });

  it.each([
    [true, undefined],
    [false, false],
  ])("passes parallel_tool_calls %j as %j", (parallel, expected) => {
    const engine = engineRequestOf({
      input: "x",
      tools: [{ type: "function", name: "f", parameters: { type: "object" } }],
      parallel_tool_calls: parallel,
    });
    expect(engine.parallel_tool_calls).toEqual(expected);
  });

  it.each([
    ["auto", "auto"],
    ["none", "none"],
    ["required", "required"],
    [{ type: "allowed_tools", mode: "required", tools: [{ type: "function", name: "f" }] }, "required"],
    [{ type: "custom", name: "apply_patch" }, undefined],
  ])("maps tool_choice %j to %j", (choice, expected) => {
    const engine = engineRequestOf({
      input: "x",
      tools: [{ type: "function", name: "f", parameters: { type: "object" } }],
      tool_choice: choice,
    });
    expect(engine.tool_choice).toEqual(expected);
  });
});

describe("ResponsesRequest", () => {
  it.each([
    ["an empty input", { input: [] }, "input", "input must not be empty"],
    ["an empty string", { input: "" }, "input", "non-empty string or a list of items"],
    ["an unknown role", { input: [{ role: "robot", content: "x" }] }, "input.0.role", "expected one of"],
    [
      "a file part",
      { input: [{ role: "user", content: [{ type: "input_file", file_id: "file_1" }] }] },
      "input.0.content.0.type",
      "herd reads no input_file",
    ],
    [
      "an image by file id",
      { input: [{ role: "user", content: [{ type: "input_image", file_id: "file_1" }] }] },
      "input.0.content.0.image_url",
      "send the image itself",
    ],
    [
      "a function call without its call id",
      { input: [{ type: "function_call", name: "f", arguments: "{}" }] },
      "input.0.call_id",
      "expected string",
    ],
    [
      "a function tool without a name",
      { input: "x", tools: [{ type: "function" }] },
      "tools.0.name",
      "expected string",
    ],
    ["a temperature out of range", { input: "x", temperature: 7 }, "temperature", "<=2"],
    ["a conversation object", { input: "x", conversation: "conv_1" }, "conversation", "previous_response_id"],
  ])("refuses %s, naming the field", (_name, request, param, message) => {
    const result = ResponsesRequest.safeParse({ model: "m", ...request });
    expect(result.success).toBe(false);
    const mapped = mapError(result.error);
    expect(mapped).toMatchObject({ status: 400, type: "invalid_request_error", param });
    expect(mapped.message).toContain(message);
  });
});
