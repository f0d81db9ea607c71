import { describe, expect, it } from "vitest";
import { ContextLengthExceededError } from "../protocol/errors.js";
import { type MappedError, mapError } from "./error-mapping.js";
import { errorBodyFor, protocolOfPath, protocolOfRequest, responseFailureOf } from "./error-shapes.js";

const notFound: MappedError = {
  status: 404,
  type: "invalid_request_error",
  code: "model_not_found",
  message: "model 'x' not found",
  param: "model",
};

describe("protocolOfPath", () => {
  it.each([
    ["/v1/messages", "anthropic"],
    ["/v1/messages/count_tokens", "anthropic"],
    ["/api/chat", "ollama"],
    ["/v1/chat/completions", "openai"],
    ["/herd/v1/instances", "openai"],
    ["/v1/messagesx", "openai"],
  ])("%s is %s", (path, protocol) => {
    expect(protocolOfPath(path)).toBe(protocol);
  });
});

describe("protocolOfRequest", () => {
  it.each<[string, Record<string, string>, string]>([
    ["/v1/models", { "anthropic-version": "2023-06-01" }, "anthropic"],
    ["/v1/models/m", { "x-api-key": "k" }, "anthropic"],
    ["/v1/models", { "x-api-key": "k", authorization: "Bearer k" }, "openai"],
    ["/v1/models", { authorization: "Bearer k" }, "openai"],
    ["/v1/models", {}, "openai"],
    ["/v1/chat/completions", { "anthropic-version": "2023-06-01" }, "openai"],
    ["/v1/messages", {}, "anthropic"],
  ])("%s with %j is %s", (path, headers, protocol) => {
    expect(protocolOfRequest(path, new Headers(headers))).toBe(protocol);
  });
});

describe("errorBodyFor", () => {
  it("gives each protocol its own shape", () => {
    expect(errorBodyFor("openai", notFound)).toEqual({
      error: {
        message: "model 'x' not found",
        type: "invalid_request_error",
        code: "model_not_found",
        param: "model",
      },
    });
    expect(errorBodyFor("anthropic", notFound)).toEqual({
      type: "error",
      error: { type: "not_found_error", message: "model 'x' not found" },
    });
    expect(errorBodyFor("ollama", notFound)).toEqual({ error: "model 'x' not found" });
  });

  it("maps statuses to Anthropic's error types", () => {
    const type = (status: MappedError["status"]) =>
      (errorBodyFor("anthropic", { ...notFound, status }) as { error: { type: string } }).error.type;
    expect([400, 401, 403, 413, 429, 500, 503].map((s) => type(s as MappedError["status"]))).toEqual([
      "invalid_request_error",
      "authentication_error",
      "permission_error",
      "request_too_large",
      "rate_limit_error",
      "api_error",
      "overloaded_error",
    ]);
  });

  it("words a prompt over the context as each protocol does, with the numbers", () => {
    const mapped = mapError(new ContextLengthExceededError(3000, 1024));
    expect(errorBodyFor("openai", mapped)).toMatchObject({
      error: {
        message: expect.stringMatching(
          /^This model's maximum context length is 1024 tokens\. However, your messages resulted in 3000 tokens/,
        ),
        type: "invalid_request_error",
        code: "context_length_exceeded",
        param: "messages",
      },
    });
    expect(errorBodyFor("anthropic", mapped)).toEqual({
      type: "error",
      error: { type: "invalid_request_error", message: "prompt is too long: 3000 tokens > 1024 maximum" },
    });
    expect(errorBodyFor("ollama", mapped)).toEqual({
      error:
        "the prompt is 3000 tokens, more than the model's context of 1024 tokens; shorten it, or load the model with a larger context ('herd load --ctx')",
    });
  });
});

describe("responseFailureOf", () => {
  it.each([
    [502, "engine_error", "server_error"],
    [503, "model_not_ready", "server_error"],
    [429, "rate_limit_exceeded", "rate_limit_exceeded"],
    [400, "invalid_value", "invalid_value"],
  ] as const)("gives a %d (%s) the Responses API's code %s", (status, code, expected) => {
    expect(responseFailureOf({ ...notFound, status, code })).toEqual({
      code: expected,
      message: notFound.message,
    });
  });
});
