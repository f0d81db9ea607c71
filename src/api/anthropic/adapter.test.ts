import { describe, expect, it } from "vitest";
import { parseSseStrictly } from "../../../test/support/strict-streams.js";
import { collectParts } from "../chat/collect-parts.js";
import type { StreamPart } from "../chat/stream-part.js";
import { collectProtocolResponse } from "./collect-protocol-response.js";
import { toProtocolStream } from "./to-protocol-stream.js";

const timing = {
  timeToFirstTokenMs: 5,
  tokensPerSecond: 50,
  promptMs: 2,
  generationMs: 40,
  totalMs: 50,
  loadMs: 0,
};
const finish = (reason: "stop" | "length" | "tool-calls", stopSequence?: string): StreamPart => ({
  type: "finish",
  reason,
  usage: { promptTokens: 11, completionTokens: 3 },
  timing,
  ...(stopSequence ? { stopSequence } : {}),
});
const message = { id: "msg_1", model: "m", stopSequences: ["END", "\n\n"] };

async function* from(parts: StreamPart[]): AsyncGenerator<StreamPart> {
  yield* parts;
}

async function streamText(parts: StreamPart[]): Promise<string> {
  let text = "";
  for await (const piece of toProtocolStream(from(parts), message)) text += piece;
  return text;
}

describe("toProtocolStream", () => {
  it("writes text then a tool call as two blocks in Anthropic's event order", async () => {
    const events = parseSseStrictly(
      await streamText([
        { type: "prompt-start", promptTokens: 11 },
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

  it("holds message_start until the engine tells the prompt's size; keep-alives before it are comments", async () => {
    const text = await streamText([
      { type: "keep-alive" },
      { type: "prompt-start", promptTokens: 42 },
      { type: "keep-alive" },
      { type: "text-delta", text: "Hi" },
      finish("stop"),
    ]);
    expect(text.startsWith(": ")).toBe(true);
    const events = parseSseStrictly(text);
    expect(events.map((event) => event.event)).toEqual([
      "message_start",
      "ping",
      "ping",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(JSON.parse(events[0]!.data).message.usage).toEqual({ input_tokens: 42, output_tokens: 0 });
  });

  it.each<[string, StreamPart[], number]>([
    ["text from an engine that does not tell the prompt's size", [{ type: "text-delta", text: "Hi" }], 0],
    ["an answer with nothing in it", [], 11],
  ])("starts the message at %s", async (_name, parts, inputTokens) => {
    const events = parseSseStrictly(await streamText([...parts, finish("length")]));
    expect(events[0]!.event).toBe("message_start");
    expect(JSON.parse(events[0]!.data).message.usage.input_tokens).toBe(inputTokens);
  });

  it.each<[string, StreamPart, object]>([
    [
      "a stop sequence the request named",
      finish("stop", "END"),
      { stop_reason: "stop_sequence", stop_sequence: "END" },
    ],
    [
      "a stop string of the chat template's own",
      finish("stop", "<|im_end|>"),
      { stop_reason: "end_turn", stop_sequence: null },
    ],
    ["the end of the turn", finish("stop"), { stop_reason: "end_turn", stop_sequence: null }],
    ["the token limit", finish("length"), { stop_reason: "max_tokens", stop_sequence: null }],
  ])("ends on %s, streamed and whole", async (_name, last, expected) => {
    const events = parseSseStrictly(await streamText([{ type: "text-delta", text: "Hi" }, last]));
    expect(JSON.parse(events.at(-2)!.data).delta).toEqual(expected);
    const answer = await collectParts(from([{ type: "text-delta", text: "Hi" }, last]));
    expect(collectProtocolResponse(answer, message)).toMatchObject(expected);
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
    expect(collectProtocolResponse(answer, message)).toEqual({
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
