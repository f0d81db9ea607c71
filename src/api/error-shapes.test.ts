import { describe, expect, it } from "vitest";
import type { MappedError } from "./error-mapping.js";
import { errorBodyFor, protocolOfPath, protocolOfRequest } from "./error-shapes.js";

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
});
