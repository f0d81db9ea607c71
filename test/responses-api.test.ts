import { createOpenAI } from "@ai-sdk/openai";
import { Agent, tool as agentTool, run, setDefaultOpenAIClient, setTracingDisabled } from "@openai/agents";
import { generateText, jsonSchema, Output, streamText, tool } from "ai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { HerdProcess } from "./support/herd-process.js";
import { stopAllHerdProcesses } from "./support/herd-process.js";
import { startProtocolNode, weatherTool } from "./support/protocol-node.js";

const story = { model: "stories260K", input: "Once upon a time", temperature: 0 };
const weatherFunction = { type: "function" as const, strict: false, ...weatherTool };

/** The Responses API, as the OpenAI SDK, the Vercel AI SDK and the Agents SDK use it, against one node. */
describe("the Responses API", () => {
  let node: HerdProcess;
  let openai: OpenAI;

  beforeAll(async () => {
    node = await startProtocolNode();
    openai = new OpenAI({ baseURL: `${node.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  afterAll(stopAllHerdProcesses);

  describe("the OpenAI SDK", () => {
    it("streams with responses.stream() to a final response equal to the one not streamed", async () => {
      const whole = await openai.responses.create({ ...story, max_output_tokens: 12 });
      expect(whole.object).toBe("response");
      expect(whole.output_text.length).toBeGreaterThan(0);
      const stream = openai.responses.stream({ ...story, max_output_tokens: 12 });
      const deltas: string[] = [];
      const sequence: number[] = [];
      stream.on("event", (event) => sequence.push(event.sequence_number));
      stream.on("response.output_text.delta", (event) => deltas.push(event.delta));
      const final = await stream.finalResponse();
      expect(final.output_text).toBe(whole.output_text);
      expect(deltas.join("")).toBe(whole.output_text);
      expect(sequence).toEqual(sequence.map((_, index) => index));
      // The same usage, but for the prompt tokens the engine had cached by the second time.
      expect(final.usage).toMatchObject({ input_tokens: whole.usage!.input_tokens, output_tokens: 12 });
      expect(final.usage!.total_tokens).toBe(final.usage!.input_tokens + 12);
    });

    it("says incomplete, for max_output_tokens, when the limit cuts the reply, streamed and not", async () => {
      const whole = await openai.responses.create({ ...story, max_output_tokens: 5 });
      expect(whole.status).toBe("incomplete");
      expect(whole.incomplete_details?.reason).toBe("max_output_tokens");
      const events = await openai.responses.create({ ...story, max_output_tokens: 5, stream: true });
      const types: string[] = [];
      let last: OpenAI.Responses.ResponseStreamEvent | undefined;
      for await (const event of events) {
        types.push(event.type);
        last = event;
      }
      expect(types.slice(0, 2)).toEqual(["response.created", "response.in_progress"]);
      expect(last?.type).toBe("response.incomplete");
      if (last?.type !== "response.incomplete") return;
      expect(last.response.incomplete_details?.reason).toBe("max_output_tokens");
      expect(last.response.output_text).toBe(whole.output_text);
    });

    it("takes instructions as the system prompt", async () => {
      const plain = await openai.responses.create({ ...story, max_output_tokens: 4 });
      const instructed = await openai.responses.create({
        ...story,
        max_output_tokens: 4,
        instructions: "Tell a story about a dragon.",
      });
      expect(instructed.instructions).toBe("Tell a story about a dragon.");
      expect(instructed.usage!.input_tokens).toBeGreaterThan(plain.usage!.input_tokens + 5);
    });

    it("answers in JSON that parses, with a json_schema text format", async () => {
      const response = await openai.responses.create({
        ...story,
        max_output_tokens: 200,
        text: {
          format: {
            type: "json_schema",
            name: "answer",
            schema: { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] },
          },
        },
      });
      expect(response.status).toBe("completed");
      expect(typeof JSON.parse(response.output_text).ok).toBe("boolean");
    });

    it("round-trips a function call, by previous_response_id and with the whole input given", async () => {
      const first = await openai.responses.create({
        model: "tools",
        input: "Weather in Paris?",
        tools: [weatherFunction],
        tool_choice: "required",
        temperature: 0,
        max_output_tokens: 80,
      });
      expect(first.status).toBe("completed");
      const call = first.output.find((item) => item.type === "function_call");
      expect(call).toMatchObject({ type: "function_call", name: "get_weather", status: "completed" });
      if (call?.type !== "function_call") return;
      expect(["Paris", "Rome"]).toContain(JSON.parse(call.arguments).city);
      const result = {
        type: "function_call_output" as const,
        call_id: call.call_id,
        output: "sunny, 24 degrees",
      };
      const followUp = { model: "tools", tools: [weatherFunction], temperature: 0, max_output_tokens: 1 };
      const continued = await openai.responses.create({
        ...followUp,
        previous_response_id: first.id,
        input: [result],
      });
      expect(continued.previous_response_id).toBe(first.id);
      const explicit = await openai.responses.create({
        ...followUp,
        input: [
          { role: "user", content: "Weather in Paris?" },
          ...(first.output as OpenAI.Responses.ResponseInputItem[]),
          result,
        ],
      });
      // The call and its result reached the model: the prompt grew by both, the same either way.
      expect(continued.usage!.input_tokens).toBeGreaterThan(first.usage!.input_tokens + 10);
      expect(explicit.usage!.input_tokens).toBe(continued.usage!.input_tokens);
    });

    it("streams a function call as a function_call item with argument deltas", async () => {
      const stream = openai.responses.stream({
        model: "tools",
        input: "Weather in Rome?",
        tools: [weatherFunction],
        tool_choice: { type: "function", name: "get_weather" },
        temperature: 0,
        max_output_tokens: 80,
      });
      const deltas: string[] = [];
      stream.on("response.function_call_arguments.delta", (event) => deltas.push(event.delta));
      const final = await stream.finalResponse();
      const call = final.output.find((item) => item.type === "function_call");
      expect(call?.type === "function_call" && call.arguments).toBe(deltas.join(""));
      expect(deltas.length).toBeGreaterThan(1);
    });

    it("continues a conversation by previous_response_id, which store: false leaves unknown", async () => {
      const first = await openai.responses.create({ ...story, max_output_tokens: 4 });
      const next = await openai.responses.create({
        ...story,
        input: "and then",
        max_output_tokens: 4,
        previous_response_id: first.id,
      });
      const alone = await openai.responses.create({ ...story, input: "and then", max_output_tokens: 4 });
      expect(next.usage!.input_tokens).toBeGreaterThan(alone.usage!.input_tokens + 4);
      expect((await openai.responses.retrieve(first.id)).output_text).toBe(first.output_text);

      const unstored = await openai.responses.create({ ...story, max_output_tokens: 4, store: false });
      const unknown = openai.responses.create({ ...story, previous_response_id: unstored.id });
      await expect(unknown).rejects.toBeInstanceOf(OpenAI.BadRequestError);
      await expect(unknown).rejects.toMatchObject({
        code: "previous_response_not_found",
        param: "previous_response_id",
      });
      await expect(openai.responses.retrieve(unstored.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    });

    it("raises the SDK's own errors: unknown model, invalid parameter", async () => {
      const unknown = openai.responses.create({ ...story, model: "no-such-model" });
      await expect(unknown).rejects.toBeInstanceOf(OpenAI.NotFoundError);
      const invalid = openai.responses.create({ ...story, temperature: 7 });
      await expect(invalid).rejects.toBeInstanceOf(OpenAI.BadRequestError);
      await expect(invalid).rejects.toMatchObject({ param: "temperature" });
      const streamed = openai.responses.stream({ ...story, model: "no-such-model" }).finalResponse();
      await expect(streamed).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    });
  });

  describe("the Vercel AI SDK's default OpenAI provider (Responses)", () => {
    const provider = () => createOpenAI({ baseURL: `${node.url}/v1`, apiKey: "unused" });

    it("generates and streams text, with the finish reason and usage", async () => {
      const request = { prompt: "Once upon a time", temperature: 0, maxOutputTokens: 10, maxRetries: 0 };
      const generated = await generateText({ model: provider()("stories260K"), ...request });
      expect(generated.text.length).toBeGreaterThan(0);
      expect(generated.finishReason).toBe("length");
      expect(generated.usage.outputTokens).toBe(10);
      const streamed = streamText({ model: provider()("stories260K"), ...request });
      expect(await streamed.text).toBe(generated.text);
      expect(await streamed.finishReason).toBe("length");
    });

    it("ends with stop when the answer is whole, and continues a conversation herd kept", async () => {
      const model = provider()("stories260K");
      // A JSON schema makes the story end: the engine's grammar closes the object.
      const first = await generateText({
        model,
        prompt: "Once upon a time",
        temperature: 0,
        maxOutputTokens: 200,
        maxRetries: 0,
        output: Output.object({ schema: z.object({ ok: z.boolean() }) }),
      });
      expect(first.finishReason).toBe("stop");
      expect(typeof first.output.ok).toBe("boolean");
      // The assistant's earlier answer goes back as an item_reference to the response herd kept.
      const second = await generateText({
        model,
        messages: [...first.response.messages, { role: "user", content: "and then" }],
        temperature: 0,
        maxOutputTokens: 4,
        maxRetries: 0,
        include: { requestBody: true },
      });
      expect(JSON.stringify(second.request.body)).toContain("item_reference");
      expect(second.text.length).toBeGreaterThan(0);
      expect(second.usage.inputTokens).toBeGreaterThan(first.usage.inputTokens! + 4);
    });

    it("calls a tool and reads its result on the next step", async () => {
      let called = "";
      const result = await generateText({
        model: provider()("tools"),
        prompt: "Weather in Paris?",
        temperature: 0,
        maxOutputTokens: 80,
        maxRetries: 0,
        toolChoice: "required",
        tools: {
          get_weather: tool({
            description: weatherTool.description,
            inputSchema: jsonSchema<{ city: string }>(weatherTool.parameters as never),
            execute: async ({ city }) => {
              called = city;
              return "sunny";
            },
          }),
        },
      });
      expect(result.finishReason).toBe("tool-calls");
      expect(["Paris", "Rome"]).toContain(called);
      expect(result.toolResults[0]?.output).toBe("sunny");
    });
  });

  describe("the OpenAI Agents SDK", () => {
    beforeAll(() => {
      setDefaultOpenAIClient(new OpenAI({ baseURL: `${node.url}/v1`, apiKey: "unused", maxRetries: 0 }));
      setTracingDisabled(true);
    });

    it("runs an agent to its final output, streamed and not", async () => {
      // A structured output makes stories260K's answer end (the schema's grammar closes it).
      const agent = new Agent({
        name: "storyteller",
        instructions: "Answer in JSON.",
        model: "stories260K",
        outputType: z.object({ ok: z.boolean() }),
        modelSettings: { temperature: 0, maxTokens: 200 },
      });
      const result = await run(agent, "Once upon a time");
      expect(typeof result.finalOutput?.ok).toBe("boolean");
      const streamed = await run(agent, "Once upon a time", { stream: true });
      await streamed.completed;
      expect(streamed.finalOutput).toEqual(result.finalOutput);
    });

    it("runs an agent whose model calls a function tool", async () => {
      const cities: string[] = [];
      const agent = new Agent({
        name: "forecaster",
        model: "tools",
        modelSettings: { temperature: 0, maxTokens: 80, toolChoice: "required" },
        // The tools model calls a tool whenever it has one, so the tool's answer is the final output.
        toolUseBehavior: "stop_on_first_tool",
        tools: [
          agentTool({
            name: weatherTool.name,
            description: weatherTool.description,
            parameters: z.object({ city: z.enum(["Paris", "Rome"]) }),
            execute: async ({ city }) => {
              cities.push(city);
              return `sunny in ${city}`;
            },
          }),
        ],
      });
      const result = await run(agent, "Weather in Paris?");
      expect(cities).toHaveLength(1);
      expect(result.finalOutput).toBe(`sunny in ${cities[0]}`);
    });
  });
});
