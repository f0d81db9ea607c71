import { ZodError } from "zod";
import { InvalidModelShapeError } from "../models/synth-model.js";
import {
  AuthenticationError,
  ChecksumMismatchError,
  ConflictError,
  EngineError,
  EngineUnavailableError,
  HerdError,
  HubError,
  InsufficientStorageError,
  InvalidModelFileError,
  InvalidRequestError,
  ModelNotFoundError,
  ModelNotLoadedError,
  ModelUnavailableError,
  NoPlacementError,
  NotFoundError,
  NotSupportedError,
  PayloadTooLargeError,
  PermissionError,
  QueueFullError,
  RateLimitError,
  StorageFullError,
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
}

/**
 * The one place that decides how an error reaches a client. Client mistakes are 4xx with a message
 * that names the field; anything unexpected is a 500 whose message hides internals (the log has them).
 */
export function mapError(error: unknown): MappedError {
  if (error instanceof ZodError) {
    const issue = error.issues[0];
    const param = issue && issue.path.length > 0 ? issue.path.join(".") : null;
    const message = issue ? `${param ? `'${param}': ` : ""}${issue.message}` : "invalid request";
    return { status: 400, type: "invalid_request_error", code: "invalid_value", message, param };
  }
  if (error instanceof AuthenticationError) {
    return {
      status: 401,
      type: "authentication_error",
      code: "invalid_api_key",
      message: error.message,
      param: null,
    };
  }
  if (error instanceof PermissionError) {
    return {
      status: 403,
      type: "permission_error",
      code: "insufficient_scope",
      message: error.message,
      param: null,
    };
  }
  if (error instanceof PayloadTooLargeError) {
    return {
      status: 413,
      type: "invalid_request_error",
      code: "request_too_large",
      message: error.message,
      param: null,
    };
  }
  if (error instanceof RateLimitError) {
    return {
      status: 429,
      type: "rate_limit_error",
      code: "rate_limit_exceeded",
      message: error.message,
      param: null,
      retryAfterSeconds: error.retryAfterSeconds,
    };
  }
  if (error instanceof QueueFullError) {
    return {
      status: 503,
      type: "service_unavailable",
      code: "queue_full",
      message: error.message,
      param: "model",
      retryAfterSeconds: error.retryAfterSeconds,
    };
  }
  if (error instanceof InvalidRequestError) {
    return {
      status: 400,
      type: "invalid_request_error",
      code: "invalid_value",
      message: error.message,
      param: error.param,
    };
  }
  if (error instanceof NoPlacementError) {
    return {
      status: 422,
      type: "invalid_request_error",
      code: "no_placement",
      message: error.message,
      param: "model",
    };
  }
  if (error instanceof InvalidModelShapeError) {
    return {
      status: 400,
      type: "invalid_request_error",
      code: "invalid_value",
      message: error.message,
      param: error.option,
    };
  }
  if (error instanceof InvalidModelFileError) {
    return {
      status: 422,
      type: "invalid_request_error",
      code: "invalid_model_file",
      message: error.message,
      param: "path",
    };
  }
  if (error instanceof ModelNotFoundError) {
    return {
      status: 404,
      type: "invalid_request_error",
      code: "model_not_found",
      message: error.message,
      param: "model",
    };
  }
  if (error instanceof HubError) return mapHubError(error);
  if (error instanceof ChecksumMismatchError) {
    return {
      status: 502,
      type: "server_error",
      code: "checksum_mismatch",
      message: error.message,
      param: null,
    };
  }
  if (error instanceof InsufficientStorageError) {
    return {
      status: 507,
      type: "server_error",
      code: "insufficient_storage",
      message: error.message,
      param: null,
    };
  }
  if (error instanceof NotSupportedError) {
    return {
      status: 501,
      type: "invalid_request_error",
      code: "not_supported",
      message: error.message,
      param: null,
    };
  }
  if (error instanceof NotFoundError) {
    return { status: 404, type: "not_found_error", code: "not_found", message: error.message, param: null };
  }
  if (error instanceof ConflictError) {
    return {
      status: 409,
      type: "invalid_request_error",
      code: "conflict",
      message: error.message,
      param: null,
    };
  }
  if (error instanceof ModelNotLoadedError) {
    return {
      status: 503,
      type: "service_unavailable",
      code: "model_not_loaded",
      message: error.message,
      param: "model",
    };
  }
  if (error instanceof ModelUnavailableError) {
    return {
      status: 503,
      type: "service_unavailable",
      code: "model_not_ready",
      message: error.message,
      param: "model",
    };
  }
  if (error instanceof EngineUnavailableError) {
    return {
      status: 503,
      type: "service_unavailable",
      code: "engine_unavailable",
      message: error.message,
      param: null,
    };
  }
  if (error instanceof StorageFullError) {
    return {
      status: 507,
      type: "server_error",
      code: "insufficient_storage",
      message: error.message,
      param: null,
    };
  }
  if (error instanceof EngineError) {
    return { status: 502, type: "server_error", code: "engine_error", message: error.message, param: null };
  }
  if (error instanceof HerdError) {
    // The remaining herd errors describe the cluster's state (no coordinator yet, a peer that
    // cannot be reached): worth retrying, and their messages are written for people.
    return {
      status: 503,
      type: "service_unavailable",
      code: "cluster_unavailable",
      message: error.message,
      param: null,
    };
  }
  return {
    status: 500,
    type: "server_error",
    code: "internal_error",
    message: "internal error; see the node's log",
    param: null,
  };
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

/** OpenAI's error body, which herd's management API uses too. */
export function openAIErrorBody(error: MappedError): {
  error: { message: string; type: string; code: string; param: string | null };
} {
  return { error: { message: error.message, type: error.type, code: error.code, param: error.param } };
}
