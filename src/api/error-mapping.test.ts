import { describe, expect, it } from "vitest";
import { z } from "zod";
import { InvalidModelShapeError } from "../models/synth-model.js";
import {
  ConflictError,
  ContextLengthExceededError,
  EngineError,
  EngineUnavailableError,
  HerdError,
  InvalidModelFileError,
  InvalidRequestError,
  ModelNotFoundError,
  ModelNotLoadedError,
  ModelUnavailableError,
  NotFoundError,
  PreviousResponseNotFoundError,
} from "../protocol/errors.js";
import { type MappedError, mapError, openAIErrorBody } from "./error-mapping.js";

/** A real validation failure, the way a route meets one. */
function zodError(value: unknown): z.ZodError {
  const schema = z.object({
    model: z.string(),
    messages: z.array(z.object({ role: z.enum(["user", "assistant"]) })),
  });
  const result = schema.safeParse(value);
  if (result.success) throw new Error("expected the value to be invalid");
  return result.error;
}

const internal = {
  status: 500,
  type: "server_error",
  code: "internal_error",
  message: "internal error; see the node's log",
  param: null,
} as const;

const cases: Array<{ name: string; error: unknown; mapped: MappedError }> = [
  {
    name: "ZodError on a top-level field",
    error: zodError({ model: 7, messages: [] }),
    mapped: {
      status: 400,
      type: "invalid_request_error",
      code: "invalid_value",
      message: "'model': Invalid input: expected string, received number",
      param: "model",
    },
  },
  {
    name: "ZodError on a nested field",
    error: zodError({ model: "m", messages: [{ role: "wizard" }] }),
    mapped: {
      status: 400,
      type: "invalid_request_error",
      code: "invalid_value",
      message: `'messages.0.role': Invalid option: expected one of "user"|"assistant"`,
      param: "messages.0.role",
    },
  },
  {
    name: "ZodError inside one shape of a union: the deepest issue",
    error: z
      .object({ content: z.union([z.string(), z.array(z.object({ text: z.string() }))]) })
      .safeParse({ content: [{ text: 1 }] }).error,
    mapped: {
      status: 400,
      type: "invalid_request_error",
      code: "invalid_value",
      message: "'content.0.text': Invalid input: expected string, received number",
      param: "content.0.text",
    },
  },
  {
    name: "ZodError on the whole body",
    error: zodError([]),
    mapped: {
      status: 400,
      type: "invalid_request_error",
      code: "invalid_value",
      message: "Invalid input: expected object, received array",
      param: null,
    },
  },
  {
    name: "InvalidRequestError with a param",
    error: new InvalidRequestError("context size must be at least one token per slot", "contextSize"),
    mapped: {
      status: 400,
      type: "invalid_request_error",
      code: "invalid_value",
      message: "context size must be at least one token per slot",
      param: "contextSize",
    },
  },
  {
    name: "InvalidRequestError without a param",
    error: new InvalidRequestError("the request body is empty; expected a JSON object"),
    mapped: {
      status: 400,
      type: "invalid_request_error",
      code: "invalid_value",
      message: "the request body is empty; expected a JSON object",
      param: null,
    },
  },
  {
    name: "PreviousResponseNotFoundError",
    error: new PreviousResponseNotFoundError("resp_1"),
    mapped: {
      status: 400,
      type: "invalid_request_error",
      code: "previous_response_not_found",
      message: new PreviousResponseNotFoundError("resp_1").message,
      param: "previous_response_id",
    },
  },
  {
    name: "InvalidModelShapeError",
    error: new InvalidModelShapeError("heads", 3, "a divisor of embedding (64)"),
    mapped: {
      status: 400,
      type: "invalid_request_error",
      code: "invalid_value",
      message: "Synthetic model option heads should be a divisor of embedding (64), got 3",
      param: "heads",
    },
  },
  {
    name: "InvalidModelFileError",
    error: new InvalidModelFileError("/models/x.gguf", "truncated: 10 bytes, the header describes 20"),
    mapped: {
      status: 422,
      type: "invalid_request_error",
      code: "invalid_model_file",
      message: "/models/x.gguf: truncated: 10 bytes, the header describes 20",
      param: "path",
    },
  },
  {
    name: "ModelNotFoundError",
    error: new ModelNotFoundError("gpt-9"),
    mapped: {
      status: 404,
      type: "invalid_request_error",
      code: "model_not_found",
      message: "model 'gpt-9' does not exist; see 'herd models list'",
      param: "model",
    },
  },
  {
    name: "NotFoundError",
    error: new NotFoundError("no instance of 'x' is loaded"),
    mapped: {
      status: 404,
      type: "not_found_error",
      code: "not_found",
      message: "no instance of 'x' is loaded",
      param: null,
    },
  },
  {
    name: "ConflictError",
    error: new ConflictError("a model named 'x' already exists"),
    mapped: {
      status: 409,
      type: "invalid_request_error",
      code: "conflict",
      message: "a model named 'x' already exists",
      param: null,
    },
  },
  {
    name: "ModelNotLoadedError",
    error: new ModelNotLoadedError("stories260K"),
    mapped: {
      status: 503,
      type: "service_unavailable",
      code: "model_not_loaded",
      message: "model 'stories260K' is not loaded; run 'herd load stories260K'",
      param: "model",
    },
  },
  {
    name: "ModelUnavailableError",
    error: new ModelUnavailableError("stories260K", "LOADING", "loading stories260K (1.1 MiB)"),
    mapped: {
      status: 503,
      type: "service_unavailable",
      code: "model_not_ready",
      message: "model 'stories260K' is not ready (LOADING: loading stories260K (1.1 MiB)); try again shortly",
      param: "model",
    },
  },
  {
    name: "EngineUnavailableError",
    error: new EngineUnavailableError("no llama-server found", "run 'herd engine build'"),
    mapped: {
      status: 503,
      type: "service_unavailable",
      code: "engine_unavailable",
      message: "no llama-server found\nrun 'herd engine build'",
      param: null,
    },
  },
  {
    name: "EngineError",
    error: new EngineError("the engine answered 500", 500),
    mapped: {
      status: 502,
      type: "server_error",
      code: "engine_error",
      message: "the engine answered 500",
      param: null,
    },
  },
  { name: "a plain Error", error: new Error("ENOENT: /home/alice/.herd/secret.key"), mapped: internal },
  { name: "a TypeError", error: new TypeError("Cannot read properties of undefined"), mapped: internal },
  {
    // What herd says about the cluster's state is for people and worth retrying.
    name: "a bare HerdError",
    error: new HerdError("the cluster has no coordinator right now"),
    mapped: {
      status: 503,
      type: "service_unavailable",
      code: "cluster_unavailable",
      message: "the cluster has no coordinator right now",
      param: null,
    },
  },
  { name: "a thrown string", error: "password=hunter2", mapped: internal },
  { name: "undefined", error: undefined, mapped: internal },
];

describe("mapError", () => {
  it.each(cases)("maps $name", ({ error, mapped }) => {
    expect(mapError(error)).toEqual(mapped);
  });

  it("says 'invalid request' for a ZodError without issues", () => {
    expect(mapError(new z.ZodError([]))).toMatchObject({
      status: 400,
      message: "invalid request",
      param: null,
    });
  });
});

describe("openAIErrorBody", () => {
  it.each(cases)("gives the OpenAI error body, and only it, for $name", ({ error, mapped }) => {
    expect(openAIErrorBody(mapError(error))).toStrictEqual({
      error: { message: mapped.message, type: mapped.type, code: mapped.code, param: mapped.param },
    });
  });

  it("does not leak an unexpected error's message", () => {
    const body = JSON.stringify(openAIErrorBody(mapError(new Error("token sk-live-123 at /srv/x"))));
    expect(body).not.toContain("sk-live-123");
    expect(body).toContain("internal error");
  });
});

describe("a prompt longer than the context", () => {
  const mapped = mapError(new ContextLengthExceededError(13_210, 2048));

  it("is a 400 with OpenAI's code, the field at fault and both numbers", () => {
    expect(mapped).toEqual({
      status: 400,
      type: "invalid_request_error",
      code: "context_length_exceeded",
      message:
        "the prompt is 13210 tokens, more than the model's context of 2048 tokens; shorten it, or load the model with a larger context ('herd load --ctx')",
      param: "messages",
      contextLength: { promptTokens: 13_210, contextTokens: 2048 },
    });
  });

  it("is worded as OpenAI words it, keeping the counts for a node that passes it on", () => {
    expect(openAIErrorBody(mapped)).toStrictEqual({
      error: {
        message:
          "This model's maximum context length is 2048 tokens. However, your messages resulted in 13210 tokens. Please reduce the length of the messages.",
        type: "invalid_request_error",
        code: "context_length_exceeded",
        param: "messages",
        n_prompt_tokens: 13_210,
        n_ctx: 2048,
      },
    });
  });
});
