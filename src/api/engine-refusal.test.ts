import { describe, expect, it } from "vitest";
import { ContextLengthExceededError, EngineError, InvalidRequestError } from "../protocol/errors.js";
import { engineRefusal } from "./engine-refusal.js";

/** llama-server's body for a prompt over the context, as `format_error_response` writes it. */
const exceeded = JSON.stringify({
  error: {
    code: 400,
    message: "request (3000 tokens) exceeds the available context size (1024 tokens), try increasing it",
    type: "exceed_context_size_error",
    n_prompt_tokens: 3000,
    n_ctx: 1024,
  },
});

/** The same refusal after a herd node passed it on in OpenAI's words. */
const forwarded = JSON.stringify({
  error: {
    message: "This model's maximum context length is 1024 tokens. However, ...",
    type: "invalid_request_error",
    code: "context_length_exceeded",
    param: "messages",
    n_prompt_tokens: 3000,
    n_ctx: 1024,
  },
});

describe("engineRefusal", () => {
  it.each([
    ["llama-server's context-size error", 400, exceeded],
    ["a forwarding node's context_length_exceeded", 400, forwarded],
  ])("reads %s as ContextLengthExceededError with its counts", (_name, status, text) => {
    const error = engineRefusal(status, text);
    expect(error).toBeInstanceOf(ContextLengthExceededError);
    expect(error).toMatchObject({ promptTokens: 3000, contextTokens: 1024 });
  });

  it.each([
    [
      "another 4xx, in the engine's words",
      400,
      JSON.stringify({ error: { code: 400, message: "bad grammar", type: "invalid_request_error" } }),
      InvalidRequestError,
      "bad grammar",
    ],
    [
      "an error given as a string",
      404,
      JSON.stringify({ error: "no such route" }),
      InvalidRequestError,
      "no such route",
    ],
    [
      "an upstream's context_length_exceeded without counts",
      400,
      JSON.stringify({ error: { message: "too long", code: "context_length_exceeded" } }),
      InvalidRequestError,
      "too long",
    ],
    [
      "a 5xx",
      500,
      JSON.stringify({ error: { message: "boom" } }),
      EngineError,
      "the engine answered 500: boom",
    ],
    ["a body that is not JSON", 502, "Bad Gateway", EngineError, "the engine answered 502: Bad Gateway"],
    ["an empty body", 503, "", EngineError, "the engine answered 503: no details"],
  ])("reads %s", (_name, status, text, kind, message) => {
    const error = engineRefusal(status, text);
    expect(error.constructor).toBe(kind);
    expect(error.message).toBe(message);
  });

  it("names the FIM tokens a model lacks when /infill refuses it", () => {
    const text = JSON.stringify({
      error: {
        code: 501,
        message:
          "Infill is not supported by this model: prefix token is missing. suffix token is missing. middle token is missing. ",
        type: "not_supported_error",
      },
    });
    const error = engineRefusal(501, text);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ param: "suffix" });
    expect(error.message).toBe(
      "this model cannot fill in the middle (suffix): its vocabulary has no FIM prefix, suffix and middle tokens; send the prompt without a suffix, or use a code model trained for fill-in-the-middle",
    );
  });
});
