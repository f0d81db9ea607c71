import { ZodError, type z } from "zod";
import { InvalidModelShapeError } from "../models/synth-model.js";
import {
  AuthenticationError,
  ChecksumMismatchError,
  ConflictError,
  ContextLengthExceededError,
  EngineError,
  EngineUnavailableError,
  HerdError,
  HubError,
  InsufficientStorageError,
  InvalidModelFileError,
  InvalidRequestError,
  ModelCorruptError,
  ModelNotFoundError,
  ModelNotLoadedError,
  ModelUnavailableError,
  NoPlacementError,
  NotFoundError,
  NotSupportedError,
  PayloadTooLargeError,
  PermissionError,
  PreviousResponseNotFoundError,
  QueueFullError,
  RateLimitError,
} from "../protocol/errors.js";

/** An error as every protocol needs it: an HTTP status, a kind, a message, the field at fault. */
export interface MappedError {
  status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 500 | 501 | 502 | 503 | 507;
  /** OpenAI's `error.type`. */
  type:
    | "invalid_request_error"
    | "not_found_error"
    | "server_error"
    | "service_unavailable"
    | "authentication_error"
    | "permission_error"
    | "rate_limit_error";
  /** OpenAI's `error.code`. */
  code: string;
  message: string;
  param: string | null;
  /** Seconds after which trying again may succeed (the `Retry-After` header). */
  retryAfterSeconds?: number;
  /** A prompt longer than the context: the numbers each protocol's message names. */
  contextLength?: { promptTokens: number; contextTokens: number };
}

type ErrorClass<E> = abstract new (...args: never[]) => E;

interface Rule {
  error: ErrorClass<unknown>;
  status: MappedError["status"];
  type: MappedError["type"];
  code: string;
  /** The field at fault: a name, or read from the error. */
  param?: string | ((error: never) => string | null);
}

function rule<E>(
  error: ErrorClass<E>,
  status: MappedError["status"],
  type: MappedError["type"],
  code: string,
  param?: string | ((error: E) => string | null),
): Rule {
  return { error, status, type, code, param };
}

/**
 * How each kind of error reaches a client, most specific first (a subclass before the class it
 * extends). Client mistakes are 4xx; errors about the cluster's state are worth retrying (503).
 */
const rules: Rule[] = [
  rule(AuthenticationError, 401, "authentication_error", "invalid_api_key"),
  rule(PermissionError, 403, "permission_error", "insufficient_scope"),
  rule(PayloadTooLargeError, 413, "invalid_request_error", "request_too_large"),
  rule(RateLimitError, 429, "rate_limit_error", "rate_limit_exceeded"),
  rule(QueueFullError, 503, "service_unavailable", "queue_full", "model"),
  rule(
    PreviousResponseNotFoundError,
    400,
    "invalid_request_error",
    "previous_response_not_found",
    "previous_response_id",
  ),
  rule(ContextLengthExceededError, 400, "invalid_request_error", "context_length_exceeded", "messages"),
  rule(InvalidRequestError, 400, "invalid_request_error", "invalid_value", (error) => error.param),
  rule(NoPlacementError, 422, "invalid_request_error", "no_placement", "model"),
  rule(InvalidModelShapeError, 400, "invalid_request_error", "invalid_value", (error) => error.option),
  rule(InvalidModelFileError, 422, "invalid_request_error", "invalid_model_file", "path"),
  rule(ModelNotFoundError, 404, "invalid_request_error", "model_not_found", "model"),
  rule(ChecksumMismatchError, 502, "server_error", "checksum_mismatch"),
  rule(InsufficientStorageError, 507, "server_error", "insufficient_storage"),
  rule(NotSupportedError, 501, "invalid_request_error", "not_supported"),
  rule(NotFoundError, 404, "not_found_error", "not_found"),
  rule(ConflictError, 409, "invalid_request_error", "conflict"),
  rule(ModelCorruptError, 409, "invalid_request_error", "model_corrupt", "model"),
  rule(ModelNotLoadedError, 503, "service_unavailable", "model_not_loaded", "model"),
  rule(ModelUnavailableError, 503, "service_unavailable", "model_not_ready", "model"),
  rule(EngineUnavailableError, 503, "service_unavailable", "engine_unavailable"),
  rule(EngineError, 502, "server_error", "engine_error"),
  // The remaining herd errors describe the cluster's state (no coordinator yet, a peer that cannot
  // be reached): worth retrying, and their messages are written for people.
  rule(HerdError, 503, "service_unavailable", "cluster_unavailable"),
];

/**
 * The one place that decides how an error reaches a client. Client mistakes are 4xx with a message
 * that names the field; anything unexpected is a 500 whose message hides internals (the log has them).
 */
export function mapError(error: unknown): MappedError {
  if (error instanceof ZodError) {
    const issue = error.issues[0] && closestIssue(error.issues[0]);
    const param = issue && issue.path.length > 0 ? issue.path.join(".") : null;
    const message = issue ? `${param ? `'${param}': ` : ""}${issue.message}` : "invalid request";
    return { status: 400, type: "invalid_request_error", code: "invalid_value", message, param };
  }
  if (error instanceof HubError) return mapHubError(error);
  const matched = rules.find((candidate) => error instanceof candidate.error);
  if (!matched) {
    return {
      status: 500,
      type: "server_error",
      code: "internal_error",
      message: "internal error; see the node's log",
      param: null,
    };
  }
  const param = typeof matched.param === "function" ? matched.param(error as never) : (matched.param ?? null);
  const retryAfter = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  return {
    status: matched.status,
    type: matched.type,
    code: matched.code,
    message: (error as Error).message,
    param,
    ...(typeof retryAfter === "number" ? { retryAfterSeconds: retryAfter } : {}),
    ...(error instanceof ContextLengthExceededError
      ? { contextLength: { promptTokens: error.promptTokens, contextTokens: error.contextTokens } }
      : {}),
  };
}

/**
 * For a value that matches none of a union's shapes (content as text or as blocks), the issue of
 * the shape it came closest to, the one found deepest inside it: "'messages.0.content.0.text':
 * expected string" says more than "'messages.0.content': Invalid input".
 */
function closestIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return issue;
  let closest: z.core.$ZodIssue | undefined;
  for (const inner of issue.errors.flat()) {
    const candidate = closestIssue(inner);
    if (!closest || candidate.path.length > closest.path.length) closest = candidate;
  }
  if (!closest || closest.path.length === 0) return issue;
  return { ...closest, path: [...issue.path, ...closest.path] };
}

/** The hub's answer, passed on: its refusals are about the request (which repository, which token). */
function mapHubError(error: HubError): MappedError {
  if (error.hubStatus === 401 || error.hubStatus === 403) {
    return {
      status: 403,
      type: "invalid_request_error",
      code: "hub_access_denied",
      message: error.message,
      param: "ref",
    };
  }
  if (error.hubStatus === 404) {
    return {
      status: 404,
      type: "not_found_error",
      code: "hub_not_found",
      message: error.message,
      param: "ref",
    };
  }
  return { status: 502, type: "server_error", code: "hub_unavailable", message: error.message, param: null };
}

/**
 * OpenAI's error body, which herd's management API uses too. A prompt longer than the context is
 * worded as OpenAI words it (clients and people search for that sentence), and keeps llama-server's
 * counts (`n_prompt_tokens`, `n_ctx`) so that a node this answer is forwarded through still knows them.
 */
export function openAIErrorBody(error: MappedError): {
  error: {
    message: string;
    type: string;
    code: string;
    param: string | null;
    n_prompt_tokens?: number;
    n_ctx?: number;
  };
} {
  const { type, code, param, contextLength } = error;
  if (!contextLength) return { error: { message: error.message, type, code, param } };
  const message = `This model's maximum context length is ${contextLength.contextTokens} tokens. However, your messages resulted in ${contextLength.promptTokens} tokens. Please reduce the length of the messages.`;
  return {
    error: {
      message,
      type,
      code,
      param,
      n_prompt_tokens: contextLength.promptTokens,
      n_ctx: contextLength.contextTokens,
    },
  };
}
