import { describe, expect, it } from "vitest";
import { upstreamBody, upstreamUrl } from "./forward-to-upstream.js";

describe("upstreamUrl", () => {
  it.each([
    ["https://api.example.com/v1", "https://api.example.com/v1/chat/completions"],
    ["https://api.example.com/v1/", "https://api.example.com/v1/chat/completions"],
    ["http://127.0.0.1:52415", "http://127.0.0.1:52415/v1/chat/completions"],
    ["https://gateway.example.com/openai", "https://gateway.example.com/openai/v1/chat/completions"],
  ])("joins %s with the path once", (base, expected) => {
    expect(upstreamUrl(base, "/v1/chat/completions").href).toBe(expected);
  });
});

describe("upstreamBody", () => {
  it("renames the model and leaves out the fields only llama-server knows", () => {
    const body = {
      model: "local-name",
      messages: [{ role: "user", content: "hi" }],
      stop: ["END"],
      stream: true,
      return_progress: true,
      verbose: true,
      response_fields: ["stop_type", "stopping_word"],
      thinking_budget_tokens: 1024,
      chat_template_kwargs: { enable_thinking: false },
    };
    expect(upstreamBody(body, "gpt-x")).toEqual({
      model: "gpt-x",
      messages: [{ role: "user", content: "hi" }],
      stop: ["END"],
      stream: true,
    });
  });
});
