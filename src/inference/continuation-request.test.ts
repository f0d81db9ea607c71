import { describe, expect, it } from "vitest";
import { continuationBody, continuationEvents, continuationPlan } from "./continuation-request.js";

const chat = {
  model: "m",
  messages: [{ role: "user", content: "Tell me a story" }],
  stream: true,
  stream_options: { include_usage: true },
  temperature: 0,
  seed: 7,
  stop: ["The end"],
  max_tokens: 100,
};

describe("continuationPlan", () => {
  const rows: Array<[string, string, object, boolean]> = [
    ["a streamed chat", "/v1/chat/completions", chat, true],
    ["a streamed completion", "/v1/completions", { model: "m", prompt: "Once", stream: true }, true],
    ["a completion of token ids", "/v1/completions", { model: "m", prompt: [1, 2], stream: true }, true],
    ["several prompts at once", "/v1/completions", { model: "m", prompt: ["a", "b"], stream: true }, false],
    ["a whole reply (streamed from the engine)", "/v1/chat/completions", { ...chat, stream: false }, true],
    ["fill in the middle", "/infill", { ...chat }, false],
    ["a chat with tools", "/v1/chat/completions", { ...chat, tools: [{ type: "function" }] }, false],
    [
      "a chat with tools it may not call",
      "/v1/chat/completions",
      { ...chat, tools: [{ type: "function" }], tool_choice: "none" },
      true,
    ],
    [
      "a JSON schema",
      "/v1/chat/completions",
      { ...chat, response_format: { type: "json_schema", json_schema: {} } },
      false,
    ],
    ["plain text format", "/v1/chat/completions", { ...chat, response_format: { type: "text" } }, true],
    ["a grammar", "/v1/chat/completions", { ...chat, grammar: "root ::= x" }, false],
    ["log probabilities the client asked for", "/v1/chat/completions", { ...chat, logprobs: true }, false],
  ];
  it.each(rows)("%s: continuable %s", (_, path, body, continuable) => {
    expect(continuationPlan(path, body) !== undefined).toBe(continuable);
  });

  it("asks the engine for each token's id, from the sampler's own candidates", () => {
    const plan = continuationPlan("/v1/chat/completions", chat)!;
    expect(plan.engineBody).toEqual({ ...chat, n_probs: 1, post_sampling_probs: true });
    expect(plan.stopStrings).toBe(true);
    expect(plan.includeUsage).toBe(true);
    expect(plan.whole).toBe(false);
  });

  it("streams a whole reply from the engine, with its usage, to put it together", () => {
    const { stream: _, stream_options: __, ...whole } = chat;
    const plan = continuationPlan("/v1/chat/completions", whole)!;
    expect(plan.whole).toBe(true);
    expect(plan.engineBody).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });
});

describe("continuationBody", () => {
  it("continues a chat as a text completion of the templated prompt and the ids, with the budget left", () => {
    const plan = continuationPlan("/v1/chat/completions", chat)!;
    expect(continuationBody(plan, "<|user|>Tell me a story<|assistant|>", [5, 6, 7])).toEqual({
      model: "m",
      prompt: ["<|user|>Tell me a story<|assistant|>", 5, 6, 7],
      stream: true,
      temperature: 0,
      seed: 7,
      stop: ["The end"],
      max_tokens: 97,
      n_probs: 1,
      post_sampling_probs: true,
    });
  });

  it("continues a completion after the client's own prompt, with or without a budget", () => {
    const plan = continuationPlan("/v1/completions", {
      model: "m",
      prompt: [1, 2],
      stream: true,
      n_predict: 4,
    })!;
    expect(continuationBody(plan, undefined, [3])).toMatchObject({ prompt: [1, 2, 3], max_tokens: 3 });
    expect(continuationBody(plan, undefined, [3])).not.toHaveProperty("n_predict");
    const unbounded = continuationPlan("/v1/completions", { model: "m", prompt: "Once", stream: true })!;
    expect(continuationBody(unbounded, undefined, [3, 4])).toEqual({
      model: "m",
      prompt: ["Once", 3, 4],
      stream: true,
      n_probs: 1,
      post_sampling_probs: true,
    });
  });
});

describe("continuationEvents", () => {
  const shape = { id: "chatcmpl-1", created: 1, model: "m", systemFingerprint: "b1" };
  const parse = (events: string[]) => events.map((event) => JSON.parse(event.slice(6)));

  it("writes a continuation's text as the chat reply's own chunks", () => {
    const plan = continuationPlan("/v1/chat/completions", chat)!;
    expect(
      parse(
        continuationEvents(plan, shape, { choices: [{ text: " upon", finish_reason: null }] }, " upon", 3),
      ),
    ).toEqual([
      {
        choices: [{ finish_reason: null, index: 0, delta: { content: " upon" } }],
        created: 1,
        id: "chatcmpl-1",
        model: "m",
        system_fingerprint: "b1",
        object: "chat.completion.chunk",
      },
    ]);
    expect(continuationEvents(plan, shape, { choices: [{ text: "", finish_reason: null }] }, "", 3)).toEqual(
      [],
    );
  });

  it("ends the chat reply with its finish chunk and the usage of the whole reply", () => {
    const plan = continuationPlan("/v1/chat/completions", chat)!;
    const last = {
      choices: [{ text: "", finish_reason: "length" }],
      usage: { prompt_tokens: 50, completion_tokens: 20, total_tokens: 70 },
      timings: { predicted_n: 20 },
    };
    const [finish, usage] = parse(continuationEvents(plan, shape, last, "", 30));
    expect(finish.choices).toEqual([{ finish_reason: "length", index: 0, delta: {} }]);
    expect(usage).toMatchObject({
      choices: [],
      id: "chatcmpl-1",
      usage: { prompt_tokens: 20, completion_tokens: 50, total_tokens: 70 },
      timings: { predicted_n: 20 },
    });
  });

  it("keeps a text completion's shape, with the reply's id", () => {
    const plan = continuationPlan("/v1/completions", { model: "m", prompt: "Once", stream: true })!;
    const last = {
      choices: [{ text: " end", finish_reason: "stop" }],
      usage: { prompt_tokens: 12, completion_tokens: 2, total_tokens: 14 },
    };
    expect(parse(continuationEvents(plan, shape, last, " end", 10))).toEqual([
      {
        choices: [{ text: " end", index: 0, logprobs: null, finish_reason: "stop" }],
        created: 1,
        model: "m",
        system_fingerprint: "b1",
        object: "text_completion",
        usage: { prompt_tokens: 2, completion_tokens: 12, total_tokens: 14 },
        id: "chatcmpl-1",
      },
    ]);
  });
});
