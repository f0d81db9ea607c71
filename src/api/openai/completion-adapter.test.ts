import { describe, expect, it } from "vitest";
import { ContextLengthExceededError } from "../../protocol/errors.js";
import type { StreamPart } from "../chat/stream-part.js";
import { completionAdapter } from "./completion-adapter.js";

const timing = {
  timeToFirstTokenMs: 1,
  tokensPerSecond: 2,
  promptMs: 3,
  generationMs: 4,
  totalMs: 5,
  loadMs: 0,
};
const usage = { promptTokens: 9, completionTokens: 2 };
const shape = { id: "cmpl-1", model: "m", created: 7, includeUsage: true };

async function* from(parts: StreamPart[]): AsyncGenerator<StreamPart> {
  yield* parts;
}

describe("completionAdapter", () => {
  it("streams text_completion chunks, the finish, usage when asked, then [DONE]", async () => {
    let text = "";
    const parts: StreamPart[] = [
      { type: "keep-alive" },
      { type: "text-delta", text: "x = " },
      { type: "text-delta", text: "1" },
      { type: "finish", reason: "length", usage, timing },
    ];
    for await (const piece of completionAdapter(shape).toProtocolStream(from(parts))) text += piece;
    const base = { id: "cmpl-1", object: "text_completion", created: 7, model: "m" };
    const choice = (piece: string, reason: string | null) => ({
      text: piece,
      index: 0,
      logprobs: null,
      finish_reason: reason,
    });
    const data = (value: object) => `data: ${JSON.stringify(value)}\n\n`;
    expect(text).toBe(
      ": keep-alive\n\n" +
        data({ ...base, choices: [choice("x = ", null)] }) +
        data({ ...base, choices: [choice("1", null)] }) +
        data({ ...base, choices: [choice("", "length")] }) +
        data({ ...base, choices: [], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } }) +
        "data: [DONE]\n\n",
    );
  });

  it("collects the answer into one completion with usage", () => {
    const answer = {
      text: "x = 1",
      reasoning: "",
      toolCalls: [],
      finishReason: "stop" as const,
      usage,
      timing,
    };
    expect(completionAdapter({ ...shape, includeUsage: false }).collectProtocolResponse(answer)).toEqual({
      id: "cmpl-1",
      object: "text_completion",
      created: 7,
      model: "m",
      choices: [{ text: "x = 1", index: 0, logprobs: null, finish_reason: "stop" }],
      usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
    });
  });

  it("ends a failed stream with OpenAI's error event", () => {
    const text = completionAdapter(shape).errorText(new ContextLengthExceededError(3000, 1024));
    expect(text).toMatch(/^data: \{"error":\{"message":"This model's maximum context length is 1024 tokens/);
    expect(text.endsWith("\n\n")).toBe(true);
  });
});
