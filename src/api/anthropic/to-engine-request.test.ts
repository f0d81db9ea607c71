import { describe, expect, it } from "vitest";
import { CountTokensRequest, MessagesRequest } from "./schemas.js";
import { toEngineRequest } from "./to-engine-request.js";

const hi = { role: "user", content: "hi" };
const base = { model: "m", max_tokens: 5, messages: [hi] };
const engineBase = { model: "m", max_tokens: 5, messages: [{ role: "user", content: "hi" }] };
const weather = { name: "get_weather", input_schema: { type: "object" } };
const weatherFunction = {
  type: "function",
  function: { name: "get_weather", description: "", parameters: { type: "object" } },
};

const convert = (request: object) => toEngineRequest(MessagesRequest.parse({ ...base, ...request }), "m");

describe("toEngineRequest", () => {
  it.each<[string, object, object]>([
    [
      "a system prompt as blocks, stop sequences (named back by the engine) and sampling",
      {
        system: [
          { type: "text", text: "Be brief." },
          { type: "text", text: "Be kind." },
        ],
        stop_sequences: ["END"],
        temperature: 0.5,
        top_p: 0.9,
        top_k: 4,
      },
      {
        stop: ["END"],
        verbose: true,
        response_fields: ["stop_type", "stopping_word"],
        temperature: 0.5,
        top_p: 0.9,
        top_k: 4,
        messages: [
          { role: "system", content: "Be brief.\nBe kind." },
          { role: "user", content: "hi" },
        ],
      },
    ],
    [
      "a stream, whose prompt size the engine reports as it starts",
      { stream: true },
      { return_progress: true },
    ],
    [
      "system messages inside the conversation, joined to the system prompt",
      {
        system: "Be brief.",
        messages: [
          hi,
          { role: "system", content: [{ type: "text", text: "Today is Monday." }] },
          { role: "assistant", content: "Hello." },
          { role: "system", content: "Answer in French." },
          { role: "user", content: "and?" },
        ],
      },
      {
        messages: [
          { role: "system", content: "Be brief.\n\nToday is Monday.\n\nAnswer in French." },
          { role: "user", content: "hi" },
          { role: "assistant", content: "Hello." },
          { role: "user", content: "and?" },
        ],
      },
    ],
    [
      "a system message without a top-level system prompt",
      { messages: [hi, { role: "system", content: "Be brief." }] },
      {
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "hi" },
        ],
      },
    ],
    [
      "Claude Code's billing header, left out of the system prompt",
      {
        system: [
          {
            type: "text",
            text: "x-anthropic-billing-header: cc_version=2.1.328.593; cc_entrypoint=sdk-cli;",
          },
          { type: "text", text: "You are an agent.", cache_control: { type: "ephemeral" } },
          {
            type: "text",
            text: "x-anthropic-billing-header: cc_version=2.1.101.e51; cc_entrypoint=cli; cch=a5145;Be brief.",
          },
        ],
      },
      {
        messages: [
          { role: "system", content: "You are an agent.\nBe brief." },
          { role: "user", content: "hi" },
        ],
      },
    ],
    [
      "what the engine has no use for, accepted and ignored",
      {
        metadata: { user_id: "u1" },
        context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] },
        output_config: { effort: "high" },
        thinking: { type: "adaptive", display: "omitted" },
        service_tier: "auto",
        container: null,
        mcp_servers: [],
        messages: [
          { role: "user", content: [{ type: "text", text: "hi", cache_control: { type: "ephemeral" } }] },
        ],
      },
      {},
    ],
    [
      "thinking enabled, as the engine's reasoning budget",
      { thinking: { type: "enabled", budget_tokens: 2048 } },
      { thinking_budget_tokens: 2048 },
    ],
    [
      "thinking disabled, as the chat template's switch",
      { thinking: { type: "disabled" } },
      { chat_template_kwargs: { enable_thinking: false } },
    ],
    [
      "structured output (output_config.format)",
      { output_config: { effort: "low", format: { type: "json_schema", schema: { type: "object" } } } },
      {
        response_format: { type: "json_schema", json_schema: { name: "output", schema: { type: "object" } } },
      },
    ],
    [
      "structured output (the older output_format)",
      { output_format: { type: "json_schema", schema: { type: "object" } } },
      {
        response_format: { type: "json_schema", json_schema: { name: "output", schema: { type: "object" } } },
      },
    ],
  ])("converts %s", (_name, request, expected) => {
    expect(convert(request)).toEqual({ ...engineBase, ...expected });
  });

  it.each<[string, object[], object[]]>([
    [
      "tool_use and tool_result blocks",
      [
        { role: "user", content: "go" },
        {
          role: "assistant",
          content: [
            { type: "text", text: "ok" },
            { type: "tool_use", id: "t1", name: "f", input: { a: 1 } },
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "t1", content: [{ type: "text", text: "done" }] },
            { type: "text", text: "and?" },
          ],
        },
      ],
      [
        { role: "user", content: "go" },
        {
          role: "assistant",
          content: "ok",
          tool_calls: [{ id: "t1", type: "function", function: { name: "f", arguments: '{"a":1}' } }],
        },
        { role: "tool", tool_call_id: "t1", content: "done" },
        { role: "user", content: "and?" },
      ],
    ],
    [
      "an image, by data and by URL",
      [
        {
          role: "user",
          content: [
            { type: "text", text: "what is it?" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } },
            { type: "image", source: { type: "url", url: "https://example.com/a.png" } },
          ],
        },
      ],
      [
        {
          role: "user",
          content: [
            { type: "text", text: "what is it?" },
            { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
            { type: "image_url", image_url: { url: "https://example.com/a.png" } },
          ],
        },
      ],
    ],
    [
      "documents with text and search results, as text; a PDF left out",
      [
        {
          role: "user",
          content: [
            {
              type: "document",
              title: "Notes",
              source: { type: "text", media_type: "text/plain", data: "a\n" },
            },
            { type: "document", source: { type: "content", content: [{ type: "text", text: "b\n" }] } },
            { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" } },
            {
              type: "search_result",
              source: "https://example.com",
              title: "Result",
              content: [{ type: "text", text: "c" }],
            },
          ],
        },
      ],
      [{ role: "user", content: "Notes\n\na\nb\nResult (https://example.com)\n\nc" }],
    ],
    [
      "earlier thinking and Anthropic's server tool blocks, left out (a turn of nothing else, whole)",
      [
        hi,
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "hmm", signature: "c2ln" },
            { type: "redacted_thinking", data: "c2VjcmV0" },
            { type: "server_tool_use", id: "srvtoolu_1", name: "web_search", input: { query: "x" } },
            { type: "web_search_tool_result", tool_use_id: "srvtoolu_1", content: [] },
          ],
        },
        {
          role: "user",
          content: [
            { type: "text", text: "and?" },
            { type: "container_upload", file_id: "f1" },
          ],
        },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "so", signature: "" },
            { type: "text", text: "yes" },
          ],
        },
      ],
      [
        { role: "user", content: "hi" },
        { role: "user", content: "and?" },
        { role: "assistant", content: "yes" },
      ],
    ],
    [
      "tool results holding text, documents, search results, images and unknown blocks",
      [
        { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "f", input: {} }] },
        {
          role: "user",
          content: [
            {
              type: "tool_result",
              tool_use_id: "t1",
              is_error: true,
              content: [
                { type: "text", text: "no " },
                { type: "document", source: { type: "text", media_type: "text/plain", data: "file" } },
                { type: "image", source: { type: "url", url: "https://example.com/a.png" } },
                { type: "something_new", value: 1 },
              ],
            },
          ],
        },
      ],
      [
        {
          role: "assistant",
          content: "",
          tool_calls: [{ id: "t1", type: "function", function: { name: "f", arguments: "{}" } }],
        },
        { role: "tool", tool_call_id: "t1", content: "Error: no file" },
      ],
    ],
  ])("converts %s", (_name, messages, expected) => {
    expect(convert({ messages }).messages).toEqual(expected);
  });

  it.each<[string, object, object]>([
    [
      "custom tools (with cache_control and type custom) and a forced tool",
      {
        tools: [weather, { ...weather, name: "f", type: "custom", cache_control: { type: "ephemeral" } }],
        tool_choice: { type: "tool", name: "f", disable_parallel_tool_use: true },
      },
      {
        tools: [
          weatherFunction,
          { type: "function", function: { name: "f", description: "", parameters: { type: "object" } } },
        ],
        tool_choice: { type: "function", function: { name: "f" } },
        parallel_tool_calls: false,
      },
    ],
    [
      "Anthropic's server and versioned tools, left out",
      {
        tools: [
          weather,
          { type: "web_search_20250305", name: "web_search", max_uses: 5 },
          { type: "bash_20250124", name: "bash" },
          { type: "text_editor_20250728", name: "str_replace_based_edit_tool" },
        ],
      },
      { tools: [weatherFunction] },
    ],
    [
      "only server tools: no tools and no tool choice",
      { tools: [{ type: "web_search_20250305", name: "web_search" }], tool_choice: { type: "any" } },
      {},
    ],
    [
      "a deferred tool, left out until a tool search references it",
      { tools: [weather, { ...weather, name: "later", defer_loading: true }] },
      { tools: [weatherFunction] },
    ],
  ])("converts %s", (_name, request, expected) => {
    expect(convert(request)).toEqual({ ...engineBase, ...expected });
  });

  it("shows a deferred tool once a tool_reference names it", () => {
    const engine = convert({
      tools: [{ ...weather, name: "later", defer_loading: true }],
      messages: [
        hi,
        { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "ToolSearch", input: {} }] },
        {
          role: "user",
          content: [
            {
              type: "tool_result",
              tool_use_id: "t1",
              content: [{ type: "tool_reference", tool_name: "later" }],
            },
          ],
        },
      ],
    });
    expect(engine.tools).toEqual([
      { type: "function", function: { name: "later", description: "", parameters: { type: "object" } } },
    ]);
    expect((engine.messages as object[]).at(-1)).toEqual({
      role: "tool",
      tool_call_id: "t1",
      content: "later",
    });
  });

  it.each([
    [{ type: "auto" }, "auto"],
    [{ type: "any" }, "required"],
    [{ type: "none" }, "none"],
  ])("maps tool_choice %j to %j", (choice, expected) => {
    expect(convert({ tools: [weather], tool_choice: choice }).tool_choice).toBe(expected);
  });

  it("counts tokens of the same prompt, without sampling or reporting fields", () => {
    const request = CountTokensRequest.parse({
      model: "m",
      system: "Be brief.",
      messages: [hi, { role: "system", content: "Today is Monday." }],
      tools: [weather],
      thinking: { type: "adaptive" },
    });
    expect(toEngineRequest(request, "m")).toEqual({
      model: "m",
      messages: [
        { role: "system", content: "Be brief.\n\nToday is Monday." },
        { role: "user", content: "hi" },
      ],
      tools: [weatherFunction],
    });
  });
});
