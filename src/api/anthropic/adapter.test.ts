import { describe, expect, it } from "vitest";
import { parseSseStrictly } from "../../../test/support/strict-streams.js";
import { collectParts } from "../chat/collect-parts.js";
import type { StreamPart } from "../chat/stream-part.js";
import { collectProtocolResponse } from "./collect-protocol-response.js";
import { MessagesRequest } from "./schemas.js";
import { toEngineRequest } from "./to-engine-request.js";
import { toProtocolStream } from "./to-protocol-stream.js";

const timing = {
  timeToFirstTokenMs: 5,
  tokensPerSecond: 50,
  promptMs: 2,
  generationMs: 40,
  totalMs: 50,
  loadMs: 0,
};
const finish = (reason: "stop" | "length" | "tool-calls"): StreamPart => ({
  type: "finish",
  reason,
  usage: { promptTokens: 11, completionTokens: 3 },
  timing,
});

async function* from(parts: StreamPart[]): AsyncGenerator<StreamPart> {
  yield* parts;
}

async function streamText(parts: StreamPart[]): Promise<string> {
  let text = "";
  for await (const piece of toProtocolStream(from(parts), { id: "msg_1", model: "m" })) text += piece;
  return text;
}

describe("toEngineRequest", () => {
  it.each([
    [
      "a system prompt as blocks, stop sequences and sampling",
      {
        model: "m",
        max_tokens: 5,
        system: [
          { type: "text", text: "Be brief." },
          { type: "text", text: "Be kind." },
        ],
        stop_sequences: ["END"],
        temperature: 0.5,
        top_k: 4,
        messages: [{ role: "user", content: "hi" }],
      },
      {
        model: "m",
        max_tokens: 5,
        stop: ["END"],
        temperature: 0.5,
        top_k: 4,
        messages: [
          { role: "system", content: "Be brief.\nBe kind." },
          { role: "user", content: "hi" },
        ],
      },
    ],
    [
      "tool_use and tool_result blocks, tools and a forced tool",
      {
        model: "m",
        max_tokens: 5,
        tools: [{ name: "f", input_schema: { type: "object" } }],
        tool_choice: { type: "tool", name: "f", disable_parallel_tool_use: true },
        messages: [
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
      },
      {
        model: "m",
        max_tokens: 5,
        tools: [
          { type: "function", function: { name: "f", description: "", parameters: { type: "object" } } },
        ],
        tool_choice: { type: "function", function: { name: "f" } },
        parallel_tool_calls: false,
        messages: [
          { role: "user", content: "go" },
          {
            role: "assistant",
            content: "ok",
            tool_calls: [{ id: "t1", type: "function", function: { name: "f", arguments: '{"a":1}' } }],
          },
          { role: "tool", tool_call_id: "t1", content: "done" },
          { role: "user", content: "and?" },
        ],
      },
    ],
  ])("converts %s", (_name, request, expected) => {
    expect(toEngineRequest(MessagesRequest.parse(request), "m")).toEqual(expected);
  });

  it.each([
    [{ type: "auto" }, "auto"],
    [{ type: "any" }, "required"],
    [{ type: "none" }, "none"],
  ])("maps tool_choice %j to %j", (choice, expected) => {
    const request = MessagesRequest.parse({
      model: "m",
      max_tokens: 1,
      messages: [{ role: "user", content: "x" }],
      tool_choice: choice,
    });
    expect(toEngineRequest(request, "m").tool_choice).toBe(expected);
  });
});

describe("toProtocolStream", () => {
  it("writes text then a tool call as two blocks in Anthropic's event order", async () => {
    const events = parseSseStrictly(
      await streamText([
        { type: "text-delta", text: "Hel" },
        { type: "text-delta", text: "lo" },
        { type: "tool-call-start", index: 0, id: "c1", name: "f" },
        { type: "tool-call-delta", index: 0, argumentsDelta: '{"a":' },
        { type: "tool-call-delta", index: 0, argumentsDelta: "1}" },
        finish("tool-calls"),
      ]),
    );
    expect(events.map((event) => event.event)).toEqual([
      "message_start",
      "ping",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(JSON.parse(events[6]!.data)).toEqual({
      type: "content_block_start",
      index: 1,
      content_block: { type: "tool_use", id: "c1", name: "f", input: {} },
    });
    expect(JSON.parse(events[10]!.data)).toEqual({
      type: "message_delta",
      delta: { stop_reason: "tool_use", stop_sequence: null },
      usage: { input_tokens: 11, output_tokens: 3 },
    });
  });

  it("answers keep-alive parts with pings after message_start", async () => {
    const events = parseSseStrictly(await streamText([{ type: "keep-alive" }, finish("length")]));
    expect(events.map((event) => event.event)).toEqual([
      "message_start",
      "ping",
      "ping",
      "message_delta",
      "message_stop",
    ]);
  });
});

describe("collectProtocolResponse", () => {
  it("makes a Message with text and tool_use blocks and Anthropic's stop reason", async () => {
    const answer = await collectParts(
      from([
        { type: "text-delta", text: "Hi" },
        { type: "tool-call-start", index: 0, id: "c1", name: "f" },
        { type: "tool-call-delta", index: 0, argumentsDelta: '{"a":1}' },
        finish("tool-calls"),
      ]),
    );
    expect(collectProtocolResponse(answer, { id: "msg_1", model: "m" })).toEqual({
      id: "msg_1",
      type: "message",
      role: "assistant",
      model: "m",
      content: [
        { type: "text", text: "Hi" },
        { type: "tool_use", id: "c1", name: "f", input: { a: 1 } },
      ],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: { input_tokens: 11, output_tokens: 3 },
    });
  });
});
