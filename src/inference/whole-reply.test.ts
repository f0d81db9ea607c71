import { describe, expect, it } from "vitest";
import { EngineError } from "../protocol/errors.js";
import { wholeReply } from "./whole-reply.js";

const chunk = (value: object) => `data: ${JSON.stringify(value)}`;
const common = { created: 1, id: "chatcmpl-1", model: "m", system_fingerprint: "b1" };

describe("wholeReply", () => {
  it("puts a chat stream together as llama-server's whole chat.completion", () => {
    const events = [
      chunk({
        choices: [{ finish_reason: null, index: 0, delta: { role: "assistant", content: null } }],
        ...common,
      }),
      chunk({ choices: [{ finish_reason: null, index: 0, delta: { content: "Once" } }], ...common }),
      ": waiting for the model's instance",
      chunk({ choices: [{ finish_reason: null, index: 0, delta: { content: " upon" } }], ...common }),
      chunk({ choices: [{ finish_reason: "length", index: 0, delta: {} }], ...common }),
      chunk({
        choices: [],
        ...common,
        usage: { prompt_tokens: 5, completion_tokens: 2 },
        timings: { predicted_n: 2 },
      }),
      "data: [DONE]",
    ];
    expect(wholeReply("/v1/chat/completions", events)).toEqual({
      choices: [{ finish_reason: "length", index: 0, message: { role: "assistant", content: "Once upon" } }],
      created: 1,
      model: "m",
      system_fingerprint: "b1",
      object: "chat.completion",
      usage: { prompt_tokens: 5, completion_tokens: 2 },
      id: "chatcmpl-1",
      timings: { predicted_n: 2 },
    });
  });

  it("keeps a reasoning model's thinking beside the answer", () => {
    const events = [
      chunk({
        choices: [{ finish_reason: null, index: 0, delta: { reasoning_content: "Let me" } }],
        ...common,
      }),
      chunk({
        choices: [{ finish_reason: null, index: 0, delta: { reasoning_content: " think." } }],
        ...common,
      }),
      chunk({ choices: [{ finish_reason: null, index: 0, delta: { content: "Yes." } }], ...common }),
      chunk({ choices: [{ finish_reason: "stop", index: 0, delta: {} }], ...common }),
    ];
    expect(wholeReply("/v1/chat/completions", events)).toMatchObject({
      choices: [
        {
          finish_reason: "stop",
          message: { role: "assistant", content: "Yes.", reasoning_content: "Let me think." },
        },
      ],
    });
  });

  it("puts a text completion stream together", () => {
    const events = [
      chunk({ choices: [{ text: " upon", index: 0, logprobs: null, finish_reason: null }], ...common }),
      chunk({
        choices: [{ text: "", index: 0, logprobs: null, finish_reason: "stop" }],
        ...common,
        usage: { completion_tokens: 1 },
      }),
    ];
    expect(wholeReply("/v1/completions", events)).toMatchObject({
      choices: [{ text: " upon", index: 0, logprobs: null, finish_reason: "stop" }],
      object: "text_completion",
      usage: { completion_tokens: 1 },
    });
  });

  it("throws the error that ended the stream, so the client gets an error status", () => {
    const events = [chunk({ error: { message: "no instance could continue it", code: "failover_timeout" } })];
    expect(() => wholeReply("/v1/chat/completions", events)).toThrow(EngineError);
  });
});
