import Anthropic from "@anthropic-ai/sdk";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HerdProcess } from "./support/herd-process.js";
import { stopAllHerdProcesses } from "./support/herd-process.js";
import { startProtocolNode, weatherTool } from "./support/protocol-node.js";

/** About 1,700 tokens: more than a slot of stories260K holds (2,048 over 2 slots). */
const tooLong = "Once upon a time there was a little girl named Lily. ".repeat(120);

/** Every client below is the official SDK, changed in nothing but its base URL. */
describe("the official OpenAI, Anthropic and Ollama SDKs against one node", () => {
  let node: HerdProcess;
  let openai: OpenAI;
  let anthropic: Anthropic;
  let ollama: Ollama;

  beforeAll(async () => {
    node = await startProtocolNode();
    openai = new OpenAI({ baseURL: `${node.url}/v1`, apiKey: "unused", maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: node.url, apiKey: "unused", maxRetries: 0 });
    ollama = new Ollama({ host: node.url });
  });
  afterAll(stopAllHerdProcesses);

  describe("OpenAI", () => {
    it("lists models and gets one by id, by its Ollama name too", async () => {
      const ids = [];
      for await (const model of openai.models.list()) ids.push(model.id);
      expect(ids).toEqual(["stories-embed", "stories260K", "tools"]);
      expect((await openai.models.retrieve("stories260K:latest")).id).toBe("stories260K");
    });

    it("chats, streamed and not, with the same greedy answer and usage", async () => {
      const request = {
        model: "stories260K",
        messages: [{ role: "user" as const, content: "Once upon a time" }],
        temperature: 0,
        max_completion_tokens: 16,
        seed: 1,
      };
      const whole = await openai.chat.completions.create(request);
      expect(whole.choices[0]!.message.content!.length).toBeGreaterThan(0);
      expect(whole.usage!.completion_tokens).toBe(16);
      const stream = await openai.chat.completions.create({
        ...request,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      let usage: OpenAI.CompletionUsage | undefined | null;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? "";
        usage = chunk.usage ?? usage;
      }
      expect(text).toBe(whole.choices[0]!.message.content);
      expect(usage!.completion_tokens).toBe(16);
    });

    it("honours stop, and answers in JSON with response_format", async () => {
      const stopped = await openai.chat.completions.create({
        model: "stories260K",
        messages: [{ role: "user", content: "Once upon a time" }],
        temperature: 0,
        max_tokens: 40,
        stop: ["."],
      });
      expect(stopped.choices[0]!.message.content).not.toContain(".");
      const json = await openai.chat.completions.create({
        model: "stories260K",
        messages: [{ role: "user", content: "Once upon a time" }],
        max_tokens: 200,
        temperature: 0,
        response_format: {
          type: "json_schema",
          json_schema: {
            name: "answer",
            schema: { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] },
          },
        },
      });
      expect(typeof JSON.parse(json.choices[0]!.message.content!).ok).toBe("boolean");
    });

    it("completes a prompt and returns logprobs when asked", async () => {
      const completion = await openai.completions.create({
        model: "stories260K",
        prompt: "Once upon a time",
        max_tokens: 8,
        temperature: 0,
        logprobs: 2,
      });
      expect(completion.choices[0]!.text.length).toBeGreaterThan(0);
      expect(completion.usage!.completion_tokens).toBe(8);
    });

    it("embeds", async () => {
      const result = await openai.embeddings.create({ model: "stories-embed", input: ["a", "b"] });
      expect(result.data).toHaveLength(2);
      expect(result.data[0]!.embedding).toHaveLength(64);
    });

    it("answers through the Responses API", async () => {
      const response = await openai.responses.create({
        model: "stories260K",
        input: "Once upon a time",
        max_output_tokens: 8,
        temperature: 0,
      });
      // Eight tokens cut the story short, and the response says so.
      expect(response.status).toBe("incomplete");
      expect(response.incomplete_details?.reason).toBe("max_output_tokens");
      expect(response.output_text.length).toBeGreaterThan(0);
    });

    it("raises the SDK's own errors: unknown model, invalid parameter", async () => {
      const unknown = openai.chat.completions.create({
        model: "no-such-model",
        messages: [{ role: "user", content: "hi" }],
      });
      await expect(unknown).rejects.toBeInstanceOf(OpenAI.NotFoundError);
      const invalid = openai.chat.completions.create({
        model: "stories260K",
        messages: [{ role: "user", content: "hi" }],
        temperature: 7,
      });
      await expect(invalid).rejects.toBeInstanceOf(OpenAI.BadRequestError);
      await expect(invalid).rejects.toMatchObject({ param: "temperature" });
    });

    it("raises BadRequestError with code context_length_exceeded for a prompt over the context", async () => {
      for (const stream of [false, true]) {
        const refused = openai.chat.completions.create({
          model: "stories260K",
          messages: [{ role: "user", content: tooLong }],
          max_tokens: 4,
          stream,
        });
        await expect(refused).rejects.toBeInstanceOf(OpenAI.BadRequestError);
        await expect(refused).rejects.toMatchObject({
          code: "context_length_exceeded",
          type: "invalid_request_error",
          param: "messages",
          message: expect.stringMatching(
            /maximum context length is 1024 tokens\. However, your messages resulted in \d{4} tokens/,
          ),
        });
      }
    });

    it("round-trips a tool call: the model calls, the tool's result goes back", async () => {
      const tools = [{ type: "function" as const, function: weatherTool }];
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "Weather in Paris?" }];
      const first = await openai.chat.completions.create({
        model: "tools",
        messages,
        tools,
        tool_choice: "required",
        temperature: 0,
        max_tokens: 80,
      });
      expect(first.choices[0]!.finish_reason).toBe("tool_calls");
      const call = first.choices[0]!.message.tool_calls![0]!;
      expect(call.type).toBe("function");
      if (call.type !== "function") return;
      expect(call.function.name).toBe("get_weather");
      expect(["Paris", "Rome"]).toContain(JSON.parse(call.function.arguments).city);
      const second = await openai.chat.completions.create({
        model: "tools",
        messages: [
          ...messages,
          first.choices[0]!.message,
          { role: "tool", tool_call_id: call.id, content: "sunny, 24 degrees" },
        ],
        tools,
        temperature: 0,
        max_tokens: 1,
      });
      // The result reached the model: the prompt grew by the call and the result.
      expect(second.usage!.prompt_tokens).toBeGreaterThan(first.usage!.prompt_tokens + 10);
    });
  });

  describe("Anthropic", () => {
    it("sends a message with a system prompt (string or blocks) and counts its tokens", async () => {
      const request = {
        model: "stories260K",
        max_tokens: 12,
        temperature: 0,
        messages: [{ role: "user" as const, content: "Once upon a time" }],
      };
      const message = await anthropic.messages.create({ ...request, system: "Tell a story." });
      expect(message.type).toBe("message");
      expect(message.role).toBe("assistant");
      expect(message.content[0]!.type).toBe("text");
      expect(message.stop_reason).toBe("max_tokens");
      expect(message.usage.output_tokens).toBe(12);
      const blocks = await anthropic.messages.create({
        ...request,
        system: [{ type: "text", text: "Tell a story." }],
      });
      expect(blocks.content).toEqual(message.content);
      const counted = await anthropic.messages.countTokens({ ...request, system: "Tell a story." });
      expect(counted.input_tokens).toBe(message.usage.input_tokens);
    });

    it("streams a message whose final form equals the one not streamed", async () => {
      const request = {
        model: "stories260K",
        max_tokens: 12,
        temperature: 0,
        stop_sequences: ["\n\n"],
        messages: [{ role: "user" as const, content: "Once upon a time" }],
      };
      const whole = await anthropic.messages.create(request);
      const stream = anthropic.messages.stream(request);
      const texts: string[] = [];
      stream.on("text", (text) => texts.push(text));
      const final = await stream.finalMessage();
      expect(final.content).toEqual(whole.content);
      expect(texts.join("")).toBe((whole.content[0] as Anthropic.TextBlock).text);
      expect(final.usage.output_tokens).toBe(whole.usage.output_tokens);
    });

    it("raises the SDK's own errors: unknown model, invalid parameter", async () => {
      const unknown = anthropic.messages.create({
        model: "no-such-model",
        max_tokens: 4,
        messages: [{ role: "user", content: "hi" }],
      });
      await expect(unknown).rejects.toBeInstanceOf(Anthropic.NotFoundError);
      const invalid = anthropic.messages.create({
        model: "stories260K",
        max_tokens: -3,
        messages: [{ role: "user", content: "hi" }],
      });
      await expect(invalid).rejects.toBeInstanceOf(Anthropic.BadRequestError);
      await expect(invalid).rejects.toMatchObject({
        error: { type: "error", error: { type: "invalid_request_error" } },
      });
    });

    it("raises BadRequestError saying the prompt is too long, with the numbers", async () => {
      const request = {
        model: "stories260K",
        max_tokens: 4,
        messages: [{ role: "user" as const, content: tooLong }],
      };
      await expect(anthropic.messages.create(request)).rejects.toBeInstanceOf(Anthropic.BadRequestError);
      await expect(anthropic.messages.stream(request).finalMessage()).rejects.toMatchObject({
        status: 400,
        error: {
          type: "error",
          error: {
            type: "invalid_request_error",
            message: expect.stringMatching(/^prompt is too long: \d{4} tokens > 1024 maximum$/),
          },
        },
      });
    });

    it("round-trips a tool call, streamed: tool_use with parsed input, then the tool_result", async () => {
      const tools = [
        {
          name: weatherTool.name,
          description: weatherTool.description,
          input_schema: weatherTool.parameters as Anthropic.Tool.InputSchema,
        },
      ];
      const question = { role: "user" as const, content: "Weather in Paris?" };
      const stream = anthropic.messages.stream({
        model: "tools",
        max_tokens: 80,
        temperature: 0,
        tools,
        tool_choice: { type: "any" },
        messages: [question],
      });
      const first = await stream.finalMessage();
      expect(first.stop_reason).toBe("tool_use");
      const use = first.content.find((block) => block.type === "tool_use") as Anthropic.ToolUseBlock;
      expect(use.name).toBe("get_weather");
      expect(["Paris", "Rome"]).toContain((use.input as { city: string }).city);
      const second = await anthropic.messages.create({
        model: "tools",
        max_tokens: 1,

        tools,
        messages: [
          question,
          {
            role: "assistant",
            content: [{ type: "tool_use", id: use.id, name: use.name, input: use.input }],
          },
          {
            role: "user",
            content: [{ type: "tool_result", tool_use_id: use.id, content: "sunny, 24 degrees" }],
          },
        ],
      });
      expect(second.usage.input_tokens).toBeGreaterThan(first.usage.input_tokens + 10);
    });
  });

  describe("Ollama", () => {
    it("lists models with tags, shows one, lists running ones, and tells its version", async () => {
      const list = await ollama.list();
      expect(list.models.map((model) => model.name)).toEqual([
        "stories-embed:latest",
        "stories260K:latest",
        "tools:latest",
      ]);
      expect(list.models[1]!.details).toMatchObject({ format: "gguf", family: "llama" });
      const shown = await ollama.show({ model: "stories260K" });
      // The client's type says Map; on the wire (and after JSON.parse) it is an object.
      expect((shown.model_info as unknown as Record<string, unknown>)["general.architecture"]).toBe("llama");
      expect(shown.capabilities).toContain("completion");
      const running = await ollama.ps();
      expect(running.models.map((model) => model.name)).toEqual([
        "stories-embed:latest",
        "stories260K:latest",
        "tools:latest",
      ]);
      expect((await ollama.version()).version).toMatch(/^\d+\.\d+\.\d+$/);
    });

    it("chats, streamed by default and with stream false, to the same greedy answer", async () => {
      const request = {
        model: "stories260K:latest",
        messages: [{ role: "user", content: "Once upon a time" }],
        options: { temperature: 0, num_predict: 16, seed: 3 },
      };
      const whole = await ollama.chat({ ...request, stream: false });
      expect(whole.done).toBe(true);
      expect(whole.eval_count).toBe(16);
      let text = "";
      let last: Awaited<ReturnType<typeof ollama.chat>> | undefined;
      for await (const part of await ollama.chat({ ...request, stream: true })) {
        text += part.message.content;
        last = part;
      }
      expect(text).toBe(whole.message.content);
      expect(last!.done_reason).toBe("length");
      expect(last!.prompt_eval_count).toBe(whole.prompt_eval_count);
    });

    it("generates, with a system prompt, raw, and in JSON", async () => {
      const generated = await ollama.generate({
        model: "stories260K",
        prompt: "Once upon a time",
        system: "Tell a story.",
        options: { temperature: 0, num_predict: 8 },
      });
      expect(generated.response?.length).toBeGreaterThan(0);
      const raw = await ollama.generate({
        model: "stories260K",
        prompt: "Once upon a time",
        raw: true,
        options: { temperature: 0, num_predict: 24 },
      });
      expect(raw.response).toContain("Lily");
      const json = await ollama.generate({
        model: "stories260K",
        prompt: "Once upon a time",
        format: "json",
        options: { num_predict: 30, stop: ["}"] },
      });
      expect((json.response ?? "").trimStart().startsWith("{")).toBe(true);
    });

    it("embeds, in the new form and the old", async () => {
      const embedded = await ollama.embed({ model: "stories-embed", input: ["a", "b"] });
      expect(embedded.embeddings).toHaveLength(2);
      expect(embedded.embeddings[0]).toHaveLength(64);
      const old = await ollama.embeddings({ model: "stories-embed", prompt: "a" });
      expect(old.embedding).toEqual(embedded.embeddings[0]);
    });

    it("raises the client's ResponseError: unknown model, invalid parameter", async () => {
      const unknown = ollama.chat({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] });
      await expect(unknown).rejects.toMatchObject({ name: "ResponseError", status_code: 404 });
      const invalid = ollama.generate({ model: "stories260K", prompt: "hi", options: { temperature: -1 } });
      await expect(invalid).rejects.toMatchObject({ name: "ResponseError", status_code: 400 });
      await expect(invalid).rejects.toThrow(/temperature/);
    });

    it("raises ResponseError with the numbers for a prompt over the context", async () => {
      const request = { model: "stories260K", messages: [{ role: "user", content: tooLong }] };
      // Each request is sent only once the one before it is settled: a refusal that came back
      // while the test still awaited the other would be an unhandled rejection.
      for (const send of [
        () => ollama.chat({ ...request, stream: false }),
        () => ollama.chat({ ...request, stream: true }),
      ]) {
        const refused = send();
        await expect(refused).rejects.toMatchObject({ name: "ResponseError", status_code: 400 });
        await expect(refused).rejects.toThrow(
          /the prompt is \d{4} tokens, more than the model's context of 1024 tokens/,
        );
      }
    });

    it("round-trips a tool call: tool_calls with object arguments, then the tool's answer", async () => {
      const tools = [{ type: "function", function: weatherTool }];
      const question = { role: "user", content: "Weather in Paris?" };
      const first = await ollama.chat({
        model: "tools",
        messages: [question],
        tools,
        options: { temperature: 0, num_predict: 80 },
      });
      const call = first.message.tool_calls![0]!;
      expect(call.function.name).toBe("get_weather");
      expect(["Paris", "Rome"]).toContain(call.function.arguments.city);
      const second = await ollama.chat({
        model: "tools",
        messages: [
          question,
          first.message,
          { role: "tool", content: "sunny, 24 degrees", tool_name: "get_weather" },
        ],
        tools,
        options: { temperature: 0, num_predict: 1 },
      });
      expect(second.prompt_eval_count).toBeGreaterThan(first.prompt_eval_count + 10);
    });
  });
});
