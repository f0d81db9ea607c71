import { describe, expect, it } from "vitest";
import { ContextLengthExceededError, EngineError } from "../../protocol/errors.js";
import { readEngineStream } from "./read-engine-stream.js";
import type { StreamPart } from "./stream-part.js";

async function* bytes(text: string, chunkSize: number): AsyncGenerator<Uint8Array> {
  const encoded = new TextEncoder().encode(text);
  for (let offset = 0; offset < encoded.length; offset += chunkSize)
    yield encoded.subarray(offset, offset + chunkSize);
}

async function read(text: string, chunkSize = 7): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of readEngineStream(bytes(text, chunkSize), performance.now())) parts.push(part);
  return parts;
}

const event = (data: object) => `data: ${JSON.stringify(data)}\n\n`;

describe("readEngineStream", () => {
  it("turns llama-server's chunks into parts, whatever the chunk boundaries, with usage and timings last", async () => {
    const text =
      event({ choices: [{ delta: { role: "assistant", content: null } }] }) +
      event({ choices: [{ delta: { content: "Hé" } }] }) +
      event({
        choices: [
          {
            delta: {
              tool_calls: [{ index: 0, id: "c1", type: "function", function: { name: "f", arguments: "{" } }],
            },
          },
        ],
      }) +
      event({ choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: "}" } }] } }] }) +
      event({
        choices: [{ delta: {}, finish_reason: "tool_calls" }],
        timings: { prompt_ms: 3, predicted_ms: 20, predicted_per_second: 99 },
      }) +
      event({
        choices: [],
        usage: {
          prompt_tokens: 4,
          completion_tokens: 5,
          total_tokens: 9,
          prompt_tokens_details: { cached_tokens: 3 },
        },
      }) +
      "data: [DONE]\n\n";
    for (const chunkSize of [1, 7, 4096]) {
      const parts = await read(text, chunkSize);
      expect(parts.slice(0, -1)).toEqual([
        { type: "text-delta", text: "Hé" },
        { type: "tool-call-start", index: 0, id: "c1", name: "f" },
        { type: "tool-call-delta", index: 0, argumentsDelta: "{" },
        { type: "tool-call-delta", index: 0, argumentsDelta: "}" },
      ]);
      expect(parts.at(-1)).toMatchObject({
        type: "finish",
        reason: "tool-calls",
        usage: { promptTokens: 4, completionTokens: 5, cachedPromptTokens: 3 },
        timing: { tokensPerSecond: 99, promptMs: 3, generationMs: 20 },
      });
    }
  });

  it("reads completion chunks' text", async () => {
    const parts = await read(
      `${event({ choices: [{ text: "Once", finish_reason: "length" }] })}data: [DONE]\n\n`,
    );
    expect(parts[0]).toEqual({ type: "text-delta", text: "Once" });
    expect(parts[1]).toMatchObject({ type: "finish", reason: "length" });
  });

  it("reports the prompt's size once, first, and the stop string that ended the answer", async () => {
    const progress = (processed: number) => ({
      choices: [{ delta: { role: "assistant", content: null } }],
      prompt_progress: { total: 46, cache: 0, processed, time_ms: 0 },
    });
    const parts = await read(
      event(progress(0)) +
        event(progress(46)) +
        event({ choices: [{ delta: { content: "a" } }] }) +
        event({
          choices: [{ delta: {}, finish_reason: "stop" }],
          __verbose: { stop_type: "word", stopping_word: "END" },
        }) +
        `${event({ choices: [], usage: { prompt_tokens: 46, completion_tokens: 2 } })}data: [DONE]\n\n`,
    );
    expect(parts.slice(0, 2)).toEqual([
      { type: "prompt-start", promptTokens: 46 },
      { type: "text-delta", text: "a" },
    ]);
    expect(parts[2]).toMatchObject({ type: "finish", reason: "stop", stopSequence: "END" });
  });

  it.each([
    ["the end of the stream", { stop_type: "eos", stopping_word: "" }, "stop"],
    ["the length limit", { stop_type: "limit", stopping_word: "" }, "length"],
  ])("names no stop string when %s ended the answer", async (_name, verbose, reason) => {
    const parts = await read(
      `${event({ choices: [{ delta: {}, finish_reason: reason }], __verbose: verbose })}data: [DONE]\n\n`,
    );
    expect(parts).toHaveLength(1);
    expect(parts[0]).toMatchObject({ type: "finish", reason });
    expect(parts[0]).not.toHaveProperty("stopSequence");
  });

  it.each([
    ["an error event", `${event({ error: { message: "out of memory" } })}`],
    ["a stream cut before [DONE]", event({ choices: [{ delta: { content: "a" } }] })],
  ])("fails on %s", async (_name, text) => {
    await expect(read(text)).rejects.toBeInstanceOf(EngineError);
  });

  it("fails with the counts on llama-server's context-size error event", async () => {
    const text = event({
      error: {
        code: 400,
        message: "request (3000 tokens) exceeds the available context size (1024 tokens), try increasing it",
        type: "exceed_context_size_error",
        n_prompt_tokens: 3000,
        n_ctx: 1024,
      },
    });
    await expect(read(text)).rejects.toMatchObject({
      constructor: ContextLengthExceededError,
      promptTokens: 3000,
      contextTokens: 1024,
    });
  });

  it("reads llama-server's own chunks (/infill): text, then the last one with counts and no [DONE]", async () => {
    const text =
      event({ index: 0, content: "x = ", stop: false, tokens_predicted: 1, tokens_evaluated: 9 }) +
      event({ index: 0, content: "1", stop: false, tokens_predicted: 2, tokens_evaluated: 9 }) +
      event({
        index: 0,
        content: "",
        stop: true,
        stop_type: "limit",
        tokens_predicted: 2,
        tokens_evaluated: 9,
        timings: { prompt_ms: 1, predicted_ms: 2, predicted_per_second: 1000 },
      });
    const parts = await read(text, 5);
    expect(parts.slice(0, -1)).toEqual([
      { type: "text-delta", text: "x = " },
      { type: "text-delta", text: "1" },
    ]);
    expect(parts.at(-1)).toMatchObject({
      type: "finish",
      reason: "length",
      usage: { promptTokens: 9, completionTokens: 2 },
      timing: { tokensPerSecond: 1000 },
    });
  });
});
