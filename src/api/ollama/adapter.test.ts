import { describe, expect, it } from "vitest";
import { parseNdjsonStrictly } from "../../../test/support/strict-streams.js";
import { collectParts } from "../chat/collect-parts.js";
import type { StreamPart } from "../chat/stream-part.js";
import { ChatRequest, GenerateRequest } from "./schemas.js";
import { chatToEngineRequest, generateToEngineRequest } from "./to-engine-request.js";
import { collectProtocolResponse, toProtocolStream } from "./to-protocol-stream.js";

const timing = {
  timeToFirstTokenMs: 5,
  tokensPerSecond: 50,
  promptMs: 2,
  generationMs: 40,
  totalMs: 50,
  loadMs: 1,
};
const finish: StreamPart = {
  type: "finish",
  reason: "stop",
  usage: { promptTokens: 7, completionTokens: 2 },
  timing,
};

async function* from(parts: StreamPart[]): AsyncGenerator<StreamPart> {
  yield* parts;
}

describe("chatToEngineRequest", () => {
  it("maps options and format, and gives tool calls ids that tool results refer to", () => {
    const request = ChatRequest.parse({
      model: "m:latest",
      messages: [
        { role: "user", content: "weather?" },
        {
          role: "assistant",
          content: "",
          tool_calls: [{ function: { name: "get_weather", arguments: { city: "Rome" } } }],
        },
        { role: "tool", content: "sunny", tool_name: "get_weather" },
      ],
      format: { type: "object" },
      options: { temperature: 0, num_predict: 9, num_ctx: 4096, stop: ["\n"], seed: 3, top_k: 5 },
    });
    expect(chatToEngineRequest(request, "m")).toEqual({
      model: "m",
      messages: [
        { role: "user", content: "weather?" },
        {
          role: "assistant",
          content: "",
          tool_calls: [
            {
              id: "call_0",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Rome"}' },
            },
          ],
        },
        { role: "tool", tool_call_id: "call_0", content: "sunny" },
      ],
      temperature: 0,
      top_k: 5,
      seed: 3,
      max_tokens: 9,
      stop: ["\n"],
      response_format: { type: "json_schema", json_schema: { name: "format", schema: { type: "object" } } },
    });
  });

  it.each([
    [-1, undefined],
    [-2, undefined],
    [12, 12],
  ])("maps num_predict %d to max_tokens %j", (numPredict, maxTokens) => {
    const request = ChatRequest.parse({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      options: { num_predict: numPredict },
    });
    expect(chatToEngineRequest(request, "m").max_tokens).toBe(maxTokens);
  });

  it.each([
    ["top-level fields alone", { temperature: 0.3, top_p: 0.5, max_output_tokens: 12 }, [0.3, 0.5, 12]],
    [
      "options over top-level fields",
      { temperature: 0.3, max_output_tokens: 12, options: { temperature: 0.7, num_predict: 20 } },
      [0.7, undefined, 20],
    ],
    ["neither", {}, [undefined, undefined, undefined]],
  ])(
    "honours the sampling fields the AI SDK's Ollama provider sends at the top level: %s",
    (_, fields, expected) => {
      const request = ChatRequest.parse({
        model: "m",
        messages: [{ role: "user", content: "x" }],
        ...fields,
      });
      const engine = chatToEngineRequest(request, "m");
      expect([engine.temperature, engine.top_p, engine.max_tokens]).toEqual(expected);
    },
  );
});

describe("generateToEngineRequest", () => {
  const templated = { hasChatTemplate: true };
  const base = { hasChatTemplate: false };
  const convert = (body: object, model = templated) =>
    generateToEngineRequest(GenerateRequest.parse({ model: "m", ...body }), "m", model);

  it.each([
    [
      "a prompt and system prompt through the model's chat template",
      { prompt: "p", system: "s", format: "json" },
      templated,
      {
        path: "/v1/chat/completions",
        request: {
          model: "m",
          messages: [
            { role: "system", content: "s" },
            { role: "user", content: "p" },
          ],
          response_format: { type: "json_object" },
        },
      },
    ],
    [
      "a raw prompt as a completion, JSON asked as the engine's completions take it",
      { prompt: "p", raw: true, format: "json" },
      templated,
      { path: "/v1/completions", request: { model: "m", prompt: "p", json_schema: { type: "object" } } },
    ],
    [
      // Ollama's default template is {{ .Prompt }}: the system prompt does not reach the model.
      "the prompt alone for a model without a chat template",
      { prompt: "Once upon", system: "s", options: { num_predict: 4 } },
      base,
      { path: "/v1/completions", request: { model: "m", prompt: "Once upon", max_tokens: 4 } },
    ],
    [
      "the request's own template, rendered, as a completion",
      {
        prompt: "2+2?",
        system: "Be brief.",
        template: "{{ if .System }}{{ .System }}\n{{ end }}Q: {{ .Prompt }}\nA:",
      },
      templated,
      { path: "/v1/completions", request: { model: "m", prompt: "Be brief.\nQ: 2+2?\nA:" } },
    ],
    [
      "a suffix as llama-server's fill-in-the-middle, its schema as json_schema",
      { prompt: "def f(", suffix: "    return x", format: { type: "object" }, options: { temperature: 0 } },
      base,
      {
        path: "/infill",
        request: {
          model: "m",
          input_prefix: "def f(",
          input_suffix: "    return x",
          temperature: 0,
          json_schema: { type: "object" },
        },
      },
    ],
  ])("sends %s", (_name, body, model, expected) => {
    expect(convert(body, model)).toEqual(expected);
  });

  it.each([
    ["raw with a system prompt", { prompt: "p", raw: true, system: "s" }, "raw"],
    ["raw with a template", { prompt: "p", raw: true, template: "{{ .Prompt }}" }, "raw"],
    ["raw with a suffix", { prompt: "p", raw: true, suffix: "q" }, "suffix"],
    [
      "a template herd cannot render",
      { prompt: "p", template: "{{ range .Messages }}{{ end }}" },
      "template",
    ],
  ])("refuses %s with a 400 naming the field", (_name, body, param) => {
    expect(() => convert(body)).toThrow(expect.objectContaining({ name: "InvalidRequestError", param }));
  });
});

describe("toProtocolStream", () => {
  it("writes chat lines, a tool call whole with object arguments, and a done line with durations in ns", async () => {
    let text = "";
    for await (const piece of toProtocolStream(
      from([
        { type: "text-delta", text: "Hi" },
        { type: "keep-alive" },
        { type: "tool-call-start", index: 0, id: "c", name: "f" },
        { type: "tool-call-delta", index: 0, argumentsDelta: '{"a":' },
        { type: "tool-call-delta", index: 0, argumentsDelta: "1}" },
        finish,
      ]),
      { kind: "chat", model: "m:latest" },
    )) {
      text += piece;
    }
    const lines = parseNdjsonStrictly(text);
    expect(lines.map((line) => line.message)).toEqual([
      { role: "assistant", content: "Hi" },
      { role: "assistant", content: "", tool_calls: [{ function: { name: "f", arguments: { a: 1 } } }] },
      { role: "assistant", content: "" },
    ]);
    expect(lines.at(-1)).toMatchObject({
      model: "m:latest",
      done: true,
      done_reason: "stop",
      total_duration: 50_000_000,
      load_duration: 1_000_000,
      prompt_eval_count: 7,
      prompt_eval_duration: 2_000_000,
      eval_count: 2,
      eval_duration: 40_000_000,
    });
  });

  it("collects a generate answer into one object with a response", async () => {
    const answer = await collectParts(from([{ type: "text-delta", text: "Once" }, finish]));
    expect(collectProtocolResponse(answer, { kind: "generate", model: "m" })).toMatchObject({
      model: "m",
      response: "Once",
      done: true,
      eval_count: 2,
    });
  });
});
