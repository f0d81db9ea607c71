import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findFreePort } from "../src/util/free-port.js";
import { HerdProcess, sharedModelPath, stopAllHerdProcesses } from "./support/herd-process.js";
import { startProtocolNode, weatherTool } from "./support/protocol-node.js";
import { type RawResponse, rawRequest } from "./support/raw-http.js";
import {
  checkAnthropicStream,
  checkChatCompletionStream,
  checkOllamaStream,
  parseNdjsonStrictly,
  parseSseStrictly,
} from "./support/strict-streams.js";

const story = { role: "user", content: "Once upon a time" };
const anthropicTool = {
  name: weatherTool.name,
  description: weatherTool.description,
  input_schema: weatherTool.parameters,
};

/** The bytes each endpoint sends, parsed strictly and checked against the protocols' published formats. */
describe("protocol conformance on the wire", () => {
  let node: HerdProcess;
  let ollamaPort: number;
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    rawRequest(`${node.url}${path}`, {
      body: typeof body === "string" ? body : JSON.stringify(body),
      headers,
    });

  beforeAll(async () => {
    ollamaPort = await findFreePort();
    node = await startProtocolNode(["--autoload", "--max-body", "64K", "--ollama-port", String(ollamaPort)]);
  });
  afterAll(stopAllHerdProcesses);

  const expectTimingTrailers = (response: RawResponse) => {
    expect(Number(response.trailers["x-herd-time-to-first-token-ms"])).toBeGreaterThan(0);
    expect(Number(response.trailers["x-herd-tokens-per-second"])).toBeGreaterThan(0);
  };

  describe("OpenAI", () => {
    it("streams chat completions: role first, one finish, usage, [DONE]; timings as trailers", async () => {
      const response = await post("/v1/chat/completions", {
        model: "stories260K",
        messages: [story],
        max_tokens: 12,
        stream: true,
        stream_options: { include_usage: true },
      });
      expect(response.headers["content-type"]).toContain("text/event-stream");
      const { finishReason, text } = checkChatCompletionStream(parseSseStrictly(response.body), true);
      expect(finishReason).toBe("length");
      expect(text.length).toBeGreaterThan(0);
      expectTimingTrailers(response);
    });

    it("gives timings as headers when the answer is not streamed", async () => {
      const response = await post("/v1/chat/completions", {
        model: "stories260K",
        messages: [story],
        max_tokens: 8,
      });
      expect(Number(response.headers["x-herd-time-to-first-token-ms"])).toBeGreaterThan(0);
      expect(Number(response.headers["x-herd-tokens-per-second"])).toBeGreaterThan(0);
    });

    it("streams completions as text_completion chunks ending in [DONE]", async () => {
      const response = await post("/v1/completions", {
        model: "stories260K",
        prompt: "Once",
        max_tokens: 6,
        stream: true,
      });
      const events = parseSseStrictly(response.body);
      expect(events.at(-1)!.data).toBe("[DONE]");
      const chunks = events.slice(0, -1).map(
        (event) =>
          JSON.parse(event.data) as {
            object: string;
            choices: Array<{ text: string; finish_reason: string | null }>;
          },
      );
      for (const chunk of chunks) expect(chunk.object).toBe("text_completion");
      expect(chunks.filter((chunk) => chunk.choices[0]?.finish_reason)).toHaveLength(1);
    });

    it("streams Responses events: numbered, created first, incomplete last when the limit cuts, deltas adding up to the text", async () => {
      const response = await post("/v1/responses", {
        model: "stories260K",
        input: "Once upon a time",
        max_output_tokens: 6,
        stream: true,
      });
      const events = parseSseStrictly(response.body).map((event) => {
        const data = JSON.parse(event.data) as {
          type: string;
          sequence_number: number;
          delta?: string;
          text?: string;
          item_id?: string;
          output_index?: number;
          content_index?: number;
          response?: { output?: unknown[]; incomplete_details?: { reason: string } };
        };
        expect(event.event).toBe(data.type);
        return data;
      });
      expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
      expect(events[0]!.type).toBe("response.created");
      expect(events[0]!.response!.output).toEqual([]);
      expect(events.at(-1)!.type).toBe("response.incomplete");
      expect(events.at(-1)!.response!.incomplete_details).toEqual({ reason: "max_output_tokens" });
      const deltaEvents = events.filter((event) => event.type === "response.output_text.delta");
      for (const delta of deltaEvents) {
        expect(delta).toMatchObject({ item_id: expect.any(String), output_index: 0, content_index: 0 });
      }
      const deltas = deltaEvents.map((event) => event.delta).join("");
      expect(events.find((event) => event.type === "response.output_text.done")!.text).toBe(deltas);
    });

    it("streams a tool call: the name first, then argument deltas that join into JSON", async () => {
      const response = await post("/v1/chat/completions", {
        model: "tools",
        messages: [{ role: "user", content: "Weather?" }],
        tools: [{ type: "function", function: weatherTool }],
        tool_choice: "required",
        temperature: 0,
        max_tokens: 80,
        stream: true,
      });
      const { chunks, finishReason } = checkChatCompletionStream(parseSseStrictly(response.body), false);
      expect(finishReason).toBe("tool_calls");
      const calls = chunks.flatMap(
        (chunk) =>
          (chunk.choices[0]?.delta.tool_calls as Array<{
            index: number;
            id?: string;
            function: { name?: string; arguments?: string };
          }>) ?? [],
      );
      expect(calls[0]).toMatchObject({ index: 0, id: expect.any(String), function: { name: "get_weather" } });
      expect(calls.every((call) => call.index === 0)).toBe(true);
      const args = JSON.parse(calls.map((call) => call.function.arguments ?? "").join("")) as {
        city: string;
      };
      expect(["Paris", "Rome"]).toContain(args.city);
    });
  });

  describe("Anthropic", () => {
    it("streams a message in the published event order, with usage; timings as trailers", async () => {
      const response = await post(
        "/v1/messages",
        { model: "stories260K", max_tokens: 10, messages: [story], stream: true },
        { "x-api-key": "any", "anthropic-version": "2023-06-01" },
      );
      const { blocks, stopReason, usage } = checkAnthropicStream(parseSseStrictly(response.body));
      expect(blocks.map((block) => block.type)).toEqual(["text"]);
      expect(stopReason).toBe("max_tokens");
      expect(usage).toMatchObject({ output_tokens: 10 });
      expect(usage.input_tokens).toBeGreaterThan(0);
      expectTimingTrailers(response);
    });

    it("streams a tool_use block whose input_json_delta parts form its input", async () => {
      const response = await post("/v1/messages", {
        model: "tools",
        max_tokens: 80,
        temperature: 0,
        messages: [{ role: "user", content: "Weather?" }],
        tools: [anthropicTool],
        tool_choice: { type: "tool", name: "get_weather" },
        stream: true,
      });
      const { blocks, stopReason } = checkAnthropicStream(parseSseStrictly(response.body));
      expect(stopReason).toBe("tool_use");
      const use = blocks.find((block) => block.type === "tool_use")!;
      expect(use.name).toBe("get_weather");
      expect(["Paris", "Rome"]).toContain((JSON.parse(use.text) as { city: string }).city);
    });
  });

  describe("Ollama", () => {
    it("streams chat and generate as NDJSON: done false, then one done line with counts", async () => {
      const chat = await post("/api/chat", {
        model: "stories260K",
        messages: [story],
        options: { num_predict: 6 },
      });
      expect(chat.headers["content-type"]).toContain("application/x-ndjson");
      const chatLines = parseNdjsonStrictly(chat.body);
      const last = checkOllamaStream(chatLines, "stories260K");
      expect(last).toMatchObject({
        done_reason: "length",
        eval_count: 6,
        message: { role: "assistant", content: "" },
      });
      for (const line of chatLines.slice(0, -1))
        expect(line.message).toMatchObject({ role: "assistant", content: expect.any(String) });
      expectTimingTrailers(chat);
      const generate = await post("/api/generate", {
        model: "stories260K:latest",
        prompt: "Once",
        options: { num_predict: 6 },
      });
      const generateLines = parseNdjsonStrictly(generate.body);
      checkOllamaStream(generateLines, "stories260K:latest");
      for (const line of generateLines) expect(typeof line.response).toBe("string");
    });

    it("streams a tool call as one line whose arguments are an object", async () => {
      const response = await post("/api/chat", {
        model: "tools",
        messages: [{ role: "user", content: "Weather?" }],
        tools: [{ type: "function", function: weatherTool }],
        options: { temperature: 0, num_predict: 80 },
      });
      const lines = parseNdjsonStrictly(response.body);
      checkOllamaStream(lines, "tools");
      const withCalls = lines.filter((line) => (line.message as { tool_calls?: unknown[] }).tool_calls);
      expect(withCalls).toHaveLength(1);
      const [call] = (
        withCalls[0]!.message as {
          tool_calls: Array<{ function: { name: string; arguments: { city: string } } }>;
        }
      ).tool_calls;
      expect(call!.function.name).toBe("get_weather");
      expect(["Paris", "Rome"]).toContain(call!.function.arguments.city);
    });

    it("answers as Ollama on its own port, and at / on the main one", async () => {
      const root = await fetch(`http://127.0.0.1:${ollamaPort}/`);
      expect(await root.text()).toBe("Ollama is running");
      expect((await fetch(`${node.url}/`, { method: "HEAD" })).status).toBe(200);
      const asJson = await fetch(`${node.url}/`, { headers: { accept: "application/json" } });
      expect(await asJson.text()).toBe("Ollama is running");
      const client = new Ollama({ host: `http://127.0.0.1:${ollamaPort}` });
      const generated = await client.generate({
        model: "stories260K",
        prompt: "Once",
        options: { num_predict: 4 },
      });
      expect(generated.eval_count).toBe(4);
    });
  });

  describe("a fast stream", () => {
    // stories260K decodes thousands of tokens a second: far faster than two per 10 ms window, so each
    // protocol's tokens leave gathered, a few writes per reply, and still parse as the protocol's stream.
    it("leaves in fewer writes than it has events, whole, in each protocol", async () => {
      const openai = await post("/v1/completions", {
        model: "stories260K",
        prompt: "Once upon a time",
        max_tokens: 120,
        stream: true,
      });
      const openaiEvents = parseSseStrictly(openai.body);
      expect(openaiEvents.at(-1)?.data).toBe("[DONE]");
      expect(openai.pieces.length).toBeLessThan(openaiEvents.length / 2);

      const anthropic = await post(
        "/v1/messages",
        { model: "stories260K", max_tokens: 120, messages: [story], stream: true },
        { "x-api-key": "any", "anthropic-version": "2023-06-01" },
      );
      const anthropicEvents = parseSseStrictly(anthropic.body);
      checkAnthropicStream(anthropicEvents);
      expect(anthropic.pieces.length).toBeLessThan(anthropicEvents.length / 2);

      const ollama = await post("/api/chat", {
        model: "stories260K",
        messages: [story],
        options: { num_predict: 120 },
      });
      const ollamaLines = parseNdjsonStrictly(ollama.body);
      checkOllamaStream(ollamaLines, "stories260K");
      expect(ollama.pieces.length).toBeLessThan(ollamaLines.length / 2);
    });
  });

  describe("a fast stream gathered over a long window", () => {
    // With a window far longer than the reply, every token after the first text is gathered until
    // the reply ends, and the first text is not: it leaves in a write before the last text's, in
    // the first or second write (after one that carries none, as Anthropic's message_start).
    let gathering: HerdProcess;
    beforeAll(async () => {
      gathering = await HerdProcess.start({ args: ["--stream-gather", "1500"] });
      await gathering.cliEach([
        ["models", "import", sharedModelPath],
        ["load", "stories260K", "--parallel", "1", "--ctx", "1024"],
      ]);
    });

    it.each([
      {
        protocol: "OpenAI",
        path: "/v1/chat/completions",
        body: { messages: [story], max_tokens: 60, stream: true },
        text: /"content":"[^"]/,
      },
      {
        protocol: "Anthropic",
        path: "/v1/messages",
        body: { messages: [story], max_tokens: 60, stream: true },
        text: /event: content_block_delta/,
      },
      {
        protocol: "Ollama",
        path: "/api/chat",
        body: { messages: [story], options: { num_predict: 60 } },
        text: /"content":"[^"]/,
      },
    ])("sends the first text of $protocol at once", async ({ path, body, text }) => {
      const response = await rawRequest(`${gathering.url}${path}`, {
        body: JSON.stringify({ model: "stories260K", ...body }),
      });
      expect(response.status).toBe(200);
      const withText = response.pieces.flatMap((piece, index) => (text.test(piece) ? [index] : []));
      expect([0, 1]).toContain(withText[0]);
      expect(withText.at(-1)).toBeGreaterThan(withText[0]!);
    });
  });

  describe("--autoload", () => {
    it("loads a model a streamed request asks for, and Ollama's empty requests load and unload", async () => {
      for (const name of ["lazy", "lazier"]) {
        const imported = await node.cli(["models", "import", sharedModelPath, "--name", name]);
        expect(imported.code).toBe(0);
      }
      const response = await post("/v1/messages", {
        model: "lazy",
        max_tokens: 4,
        messages: [story],
        stream: true,
      });
      const { usage } = checkAnthropicStream(parseSseStrictly(response.body));
      expect(usage.output_tokens).toBe(4);
      const loaded = await post("/api/generate", { model: "lazier" });
      expect(JSON.parse(loaded.body)).toMatchObject({ done: true, done_reason: "load" });
      expect(
        (await node.client.instances()).some(
          (status) => status.model === "lazier" && status.state === "READY",
        ),
      ).toBe(true);
      const unloaded = await post("/api/generate", { model: "lazier", keep_alive: 0 });
      expect(JSON.parse(unloaded.body)).toMatchObject({ done: true, done_reason: "unload" });
      expect((await node.client.instances()).some((status) => status.model === "lazier")).toBe(false);
      const client = new Ollama({ host: node.url });
      await client.delete({ model: "lazy:latest" });
      expect((await client.list()).models.map((model) => model.name)).not.toContain("lazy:latest");
      await expect(client.delete({ model: "lazy" })).rejects.toMatchObject({
        name: "ResponseError",
        status_code: 404,
      });
    });
  });

  describe("a prompt over the context", () => {
    it("ends a stream that waited for its model with OpenAI's context_length_exceeded event", async () => {
      const imported = await node.cli(["models", "import", sharedModelPath, "--name", "lazy-long"]);
      expect(imported.code).toBe(0);
      // About 4,300 tokens: more than stories260K's training context, whatever the load's size.
      const content = "Once upon a time there was a little girl named Lily. ".repeat(300);
      const response = await post("/v1/chat/completions", {
        model: "lazy-long",
        messages: [{ role: "user", content }],
        max_tokens: 4,
        stream: true,
      });
      // The status went out with the first keep-alive, before the engine could refuse.
      expect(response.status).toBe(200);
      const events = parseSseStrictly(response.body);
      expect(events).toHaveLength(1);
      expect(JSON.parse(events[0]!.data)).toMatchObject({
        error: {
          type: "invalid_request_error",
          code: "context_length_exceeded",
          param: "messages",
          message: expect.stringMatching(/^This model's maximum context length is \d+ tokens/),
        },
      });
      await node.cli(["unload", "lazy-long"]);
    });
  });

  const good: Record<string, unknown> = {
    "/v1/chat/completions": { model: "stories260K", messages: [story], max_tokens: 2 },
    "/v1/completions": { model: "stories260K", prompt: "Once", max_tokens: 2 },
    "/v1/embeddings": { model: "stories-embed", input: "Once" },
    "/v1/responses": { model: "stories260K", input: "Once", max_output_tokens: 2 },
    "/v1/messages": { model: "stories260K", max_tokens: 2, messages: [story] },
    "/v1/messages/count_tokens": { model: "stories260K", messages: [story] },
    "/api/chat": { model: "stories260K", messages: [story], stream: false, options: { num_predict: 2 } },
    "/api/generate": { model: "stories260K", prompt: "Once", stream: false, options: { num_predict: 2 } },
    "/api/embed": { model: "stories-embed", input: "Once" },
    "/api/embeddings": { model: "stories-embed", prompt: "Once" },
    "/api/show": { model: "stories260K" },
  };
  const huge = { model: "stories260K", prompt: "x".repeat(70_000) };
  const cases: Array<
    [path: string, name: string, body: unknown, status: number, mentions: string, contentType?: string]
  > = [];
  for (const path of Object.keys(good)) {
    cases.push([path, "malformed JSON", '{"model": "stories260K",', 400, "not valid JSON"]);
    cases.push([path, "an empty body", "", 400, "empty"]);
    cases.push([path, "model of the wrong type", { ...(good[path] as object), model: 42 }, 400, "model"]);
    cases.push([path, "a body over --max-body", huge, 413, "--max-body"]);
    cases.push([path, "a Content-Type that is not JSON", good[path], 400, "Content-Type", "application/xml"]);
    cases.push([
      path,
      "an unknown model",
      { ...(good[path] as object), model: "no-such-model" },
      404,
      "no-such-model",
    ]);
  }
  const field = (path: string, change: object, status: number, mentions: string, name: string) =>
    cases.push([path, name, { ...(good[path] as object), ...change }, status, mentions]);
  field("/v1/chat/completions", { messages: [] }, 400, "messages", "empty messages");
  field(
    "/v1/chat/completions",
    { messages: [{ role: "robot", content: "x" }] },
    400,
    "messages.0.role",
    "an unknown role",
  );
  field("/v1/chat/completions", { max_tokens: -1 }, 400, "max_tokens", "negative max_tokens");
  field("/v1/chat/completions", { max_tokens: 10_000_000 }, 400, "max_tokens", "huge max_tokens");
  field("/v1/completions", { prompt: 3 }, 400, "prompt", "a prompt of the wrong type");
  field("/v1/embeddings", { input: [] }, 400, "input", "empty input");
  field("/v1/responses", { input: [] }, 400, "input", "empty input");
  field("/v1/messages", { messages: [] }, 400, "messages", "empty messages");
  field("/v1/messages", { max_tokens: undefined }, 400, "max_tokens", "no max_tokens");
  field("/v1/messages", { max_tokens: -5 }, 400, "max_tokens", "negative max_tokens");
  field("/v1/messages", { max_tokens: 10_000_000 }, 400, "max_tokens", "huge max_tokens");
  field(
    "/v1/messages",
    { messages: [{ role: "robot", content: "x" }] },
    400,
    "messages.0.role",
    "an unknown role",
  );
  field(
    "/v1/messages",
    { messages: [{ role: "system", content: "x" }] },
    400,
    "messages",
    "system messages and no turn",
  );
  field("/v1/messages", { system: 5 }, 400, "system", "a system prompt of the wrong type");
  field(
    "/v1/messages",
    { tools: [{ name: "bad name!", input_schema: { type: "object" } }] },
    400,
    "tools.0.name",
    "a bad tool name",
  );
  field("/v1/messages/count_tokens", { messages: [] }, 400, "messages", "empty messages");
  field(
    "/api/chat",
    { messages: [{ role: "robot", content: "x" }] },
    400,
    "messages.0.role",
    "an unknown role",
  );
  field("/api/chat", { options: { num_predict: -7 } }, 400, "options.num_predict", "a negative num_predict");
  field(
    "/api/chat",
    { options: { temperature: "hot" } },
    400,
    "options.temperature",
    "a temperature of the wrong type",
  );
  field("/api/generate", { prompt: 7 }, 400, "prompt", "a prompt of the wrong type");
  field(
    "/api/generate",
    { options: { num_predict: 10_000_000 } },
    400,
    "options.num_predict",
    "a huge num_predict",
  );
  field("/api/embed", { input: [] }, 400, "input", "empty input");
  field("/api/embeddings", { prompt: "" }, 400, "prompt", "an empty prompt");
  field("/api/show", { model: undefined }, 400, "model", "no model");

  it.each(cases)(
    "%s answers %s with its protocol's error, then still serves",
    async (path, _name, body, status, mentions, contentType) => {
      const response = await post(path, body, contentType ? { "content-type": contentType } : {});
      expect(response.status, response.body).toBe(status);
      expect(response.body).not.toMatch(/\n\s+at /); // no stack trace
      const error = JSON.parse(response.body) as Record<string, unknown>;
      const message = expectErrorShape(path, error);
      expect(message).toContain(mentions);
      const next = await post(path, good[path]);
      expect(next.status, next.body).toBe(200);
    },
  );
});

describe("without --autoload", () => {
  afterAll(stopAllHerdProcesses);

  it("answers a request for a model that is not loaded with 503 saying to run herd load, in each protocol", async () => {
    const node = await HerdProcess.start();
    expect((await node.cli(["models", "import", sharedModelPath])).code).toBe(0);
    const send = (path: string, body: object) =>
      rawRequest(`${node.url}${path}`, { body: JSON.stringify(body) });
    for (const [path, body] of [
      ["/v1/chat/completions", { model: "stories260K", messages: [story] }],
      ["/v1/messages", { model: "stories260K", max_tokens: 4, messages: [story] }],
      ["/api/chat", { model: "stories260K:latest", messages: [story] }],
    ] as const) {
      const response = await send(path, body);
      expect(response.status).toBe(503);
      expect(expectErrorShape(path, JSON.parse(response.body))).toContain("herd load stories260K");
    }
  });
});

/** Checks the error body is the shape of the path's protocol and returns its message. */
function expectErrorShape(path: string, body: Record<string, unknown>): string {
  if (path.startsWith("/api/")) {
    expect(Object.keys(body)).toEqual(["error"]);
    expect(typeof body.error).toBe("string");
    return body.error as string;
  }
  if (path.startsWith("/v1/messages")) {
    expect(body.type).toBe("error");
    const error = body.error as { type: string; message: string };
    expect(typeof error.type).toBe("string");
    return error.message;
  }
  const error = body.error as { message: string; type: string; code: unknown; param: string | null };
  expect(error).toMatchObject({ message: expect.any(String), type: expect.any(String) });
  expect(error).toHaveProperty("param");
  return `${error.message} ${error.param}`;
}
