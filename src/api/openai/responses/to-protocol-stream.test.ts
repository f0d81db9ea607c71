import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { parseSseStrictly } from "../../../../test/support/strict-streams.js";
import { EngineError } from "../../../protocol/errors.js";
import { collectParts } from "../../chat/collect-parts.js";
import type { FinishReason, StreamPart } from "../../chat/stream-part.js";
import { collectProtocolResponse } from "./collect-protocol-response.js";
import type { ResponseContext, ResponseObject } from "./response-object.js";
import { ResponsesRequest } from "./schemas.js";
import { toProtocolStream } from "./to-protocol-stream.js";

const finish = (reason: FinishReason): StreamPart => ({
  type: "finish",
  reason,
  usage: { promptTokens: 11, completionTokens: 3, cachedPromptTokens: 4 },
  timing: {
    timeToFirstTokenMs: 5,
    tokensPerSecond: 50,
    promptMs: 2,
    generationMs: 40,
    totalMs: 50,
    loadMs: 0,
  },
});

async function* from(parts: StreamPart[], failure?: Error): AsyncGenerator<StreamPart> {
  yield* parts;
  if (failure) throw failure;
}

/** A response's context with ids and clock a test can predict. */
function contextFor(request: object = {}): ResponseContext {
  let next = 0;
  return {
    id: "resp_1",
    createdAt: 100,
    model: "m",
    request: ResponsesRequest.parse({ model: "m", input: "hi", ...request }),
    newItemId: (prefix) => `${prefix}_${++next}`,
    now: () => 200,
  };
}

async function streamOf(parts: StreamPart[], failure?: Error) {
  let text = "";
  let finished: ResponseObject | undefined;
  for await (const piece of toProtocolStream(from(parts, failure), contextFor(), (response) => {
    finished = response;
  })) {
    text += piece;
  }
  const events = parseSseStrictly(text).map((event) => {
    const data = JSON.parse(event.data) as {
      type: string;
      sequence_number: number;
      [field: string]: unknown;
    };
    expect(event.event).toBe(data.type);
    return data;
  });
  return { text, events, finished };
}

const usage = {
  input_tokens: 11,
  input_tokens_details: { cached_tokens: 4 },
  output_tokens: 3,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 14,
};

describe("toProtocolStream", () => {
  it("writes reasoning, text and a function call as three items in the Responses API's event order, numbered", async () => {
    const { events, finished } = await streamOf([
      { type: "reasoning-delta", text: "Think" },
      { type: "text-delta", text: "Hel" },
      { type: "text-delta", text: "lo" },
      { type: "tool-call-start", index: 0, id: "c1", name: "f" },
      { type: "tool-call-delta", index: 0, argumentsDelta: '{"a":' },
      { type: "tool-call-delta", index: 0, argumentsDelta: "1}" },
      finish("tool-calls"),
    ]);
    expect(events.map((event) => [event.type, event.output_index])).toEqual([
      ["response.created", undefined],
      ["response.in_progress", undefined],
      ["response.output_item.added", 0],
      ["response.content_part.added", 0],
      ["response.reasoning_text.delta", 0],
      ["response.reasoning_text.done", 0],
      ["response.content_part.done", 0],
      ["response.output_item.done", 0],
      ["response.output_item.added", 1],
      ["response.content_part.added", 1],
      ["response.output_text.delta", 1],
      ["response.output_text.delta", 1],
      ["response.output_text.done", 1],
      ["response.content_part.done", 1],
      ["response.output_item.done", 1],
      ["response.output_item.added", 2],
      ["response.function_call_arguments.delta", 2],
      ["response.function_call_arguments.delta", 2],
      ["response.function_call_arguments.done", 2],
      ["response.output_item.done", 2],
      ["response.completed", undefined],
    ]);
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
    expect(events[0]!.response).toMatchObject({
      id: "resp_1",
      object: "response",
      status: "in_progress",
      output: [],
      usage: null,
    });
    expect(events[8]).toEqual({
      type: "response.output_item.added",
      sequence_number: 8,
      output_index: 1,
      item: { type: "message", id: "msg_2", role: "assistant", status: "in_progress", content: [] },
    });
    expect(events[10]).toEqual({
      type: "response.output_text.delta",
      sequence_number: 10,
      item_id: "msg_2",
      output_index: 1,
      content_index: 0,
      delta: "Hel",
      logprobs: [],
    });
    expect(events[18]).toEqual({
      type: "response.function_call_arguments.done",
      sequence_number: 18,
      item_id: "fc_3",
      output_index: 2,
      arguments: '{"a":1}',
    });
    const completed = events.at(-1)!.response as ResponseObject;
    expect(completed).toMatchObject({
      status: "completed",
      incomplete_details: null,
      completed_at: 200,
      usage,
    });
    expect(completed.output).toEqual([
      {
        type: "reasoning",
        id: "rs_1",
        status: "completed",
        summary: [],
        content: [{ type: "reasoning_text", text: "Think" }],
      },
      {
        type: "message",
        id: "msg_2",
        role: "assistant",
        status: "completed",
        content: [{ type: "output_text", text: "Hello", annotations: [], logprobs: [] }],
      },
      {
        type: "function_call",
        id: "fc_3",
        status: "completed",
        call_id: "c1",
        name: "f",
        arguments: '{"a":1}',
      },
    ]);
    expect(completed.output_text).toBe("Hello");
    expect(finished).toEqual(completed);
  });

  it("ends an answer cut by the output limit with response.incomplete, its last item incomplete", async () => {
    const { events, finished } = await streamOf([{ type: "text-delta", text: "Once" }, finish("length")]);
    const last = events.at(-1)!;
    expect(last.type).toBe("response.incomplete");
    expect(last.response).toMatchObject({
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
      completed_at: null,
      usage,
      output: [{ type: "message", status: "incomplete" }],
    });
    expect(events.at(-2)).toMatchObject({
      type: "response.output_item.done",
      item: { status: "incomplete" },
    });
    expect(finished?.status).toBe("incomplete");
  });

  it("ends a stream whose engine fails with response.failed, and keeps nothing", async () => {
    const { events, finished } = await streamOf(
      [{ type: "text-delta", text: "Once" }],
      new EngineError("the engine failed: out of memory", 502),
    );
    expect(events.at(-1)).toMatchObject({
      type: "response.failed",
      sequence_number: events.length - 1,
      response: {
        status: "failed",
        error: { code: "server_error", message: "the engine failed: out of memory" },
        output: [{ type: "message", status: "in_progress" }],
      },
    });
    expect(finished).toBeUndefined();
  });

  it("answers keep-alive parts with SSE comments, which take no sequence number", async () => {
    const { text, events } = await streamOf([{ type: "keep-alive" }, finish("stop")]);
    expect(text).toContain("\n\n: keep-alive\n\n");
    expect(events.map((event) => [event.type, event.sequence_number])).toEqual([
      ["response.created", 0],
      ["response.in_progress", 1],
      ["response.completed", 2],
    ]);
  });

  it("is what the OpenAI SDK's responses.stream() helper reads to its final response", async () => {
    const { text } = await streamOf([
      { type: "text-delta", text: "Hel" },
      { type: "text-delta", text: "lo" },
      { type: "tool-call-start", index: 0, id: "c1", name: "f" },
      { type: "tool-call-delta", index: 0, argumentsDelta: "{}" },
      finish("tool-calls"),
    ]);
    const client = new OpenAI({
      apiKey: "unused",
      baseURL: "http://herd.invalid/v1",
      fetch: async () => new Response(text, { headers: { "content-type": "text/event-stream" } }),
    });
    const deltas: string[] = [];
    const stream = client.responses.stream({ model: "m", input: "hi" });
    stream.on("response.output_text.delta", (event) => deltas.push(event.delta));
    const final = await stream.finalResponse();
    expect(deltas).toEqual(["Hel", "lo"]);
    expect(final.status).toBe("completed");
    expect(final.output_text).toBe("Hello");
    expect(final.output.map((item) => item.type)).toEqual(["message", "function_call"]);
    expect(final.usage?.total_tokens).toBe(14);
  });
});

describe("collectProtocolResponse", () => {
  it("makes a Response with every item, the status and usage", async () => {
    const answer = await collectParts(
      from([
        { type: "text-delta", text: "Hi" },
        { type: "tool-call-start", index: 0, id: "c1", name: "f" },
        { type: "tool-call-delta", index: 0, argumentsDelta: '{"a":1}' },
        finish("tool-calls"),
      ]),
    );
    const context = contextFor({ instructions: "Be brief.", max_output_tokens: 9, temperature: 0 });
    expect(collectProtocolResponse(answer, context)).toEqual({
      id: "resp_1",
      object: "response",
      created_at: 100,
      status: "completed",
      background: false,
      completed_at: 200,
      error: null,
      incomplete_details: null,
      instructions: "Be brief.",
      max_output_tokens: 9,
      max_tool_calls: null,
      model: "m",
      output: [
        {
          type: "message",
          id: "msg_1",
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text: "Hi", annotations: [], logprobs: [] }],
        },
        {
          type: "function_call",
          id: "fc_2",
          status: "completed",
          call_id: "c1",
          name: "f",
          arguments: '{"a":1}',
        },
      ],
      output_text: "Hi",
      parallel_tool_calls: true,
      previous_response_id: null,
      prompt_cache_key: null,
      reasoning: { effort: null, summary: null },
      safety_identifier: null,
      service_tier: "default",
      store: true,
      temperature: 0,
      text: { format: { type: "text" }, verbosity: "medium" },
      tool_choice: "auto",
      tools: [],
      top_logprobs: 0,
      top_p: null,
      truncation: "disabled",
      usage,
      user: null,
      metadata: {},
      access_programs: null,
    });
  });

  it("says incomplete, for max_output_tokens, when the limit cut the answer", async () => {
    const answer = await collectParts(from([{ type: "text-delta", text: "Once" }, finish("length")]));
    expect(collectProtocolResponse(answer, contextFor())).toMatchObject({
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
      output: [{ type: "message", status: "incomplete" }],
    });
  });
});
