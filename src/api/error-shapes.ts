import { type MappedError, openAIErrorBody } from "./error-mapping.js";

/** The client protocols herd speaks; each has its own error body. */
export type ClientProtocol = "openai" | "anthropic" | "ollama";

/**
 * Which protocol a request path belongs to, so that an error raised before a route runs (auth, rate
 * limits, body size, an unknown URL) still reaches the client in a shape its SDK can parse.
 */
export function protocolOfPath(path: string): ClientProtocol {
  if (path === "/v1/messages" || path.startsWith("/v1/messages/")) return "anthropic";
  if (path.startsWith("/api/")) return "ollama";
  return "openai";
}

/**
 * Whether a request comes from Anthropic's SDK or a client built like it: they send
 * `anthropic-version`, and their key as `x-api-key` rather than `Authorization`. Decides the shape
 * of answers on paths both APIs share (`/v1/models`).
 */
export function isAnthropicClient(headers: Headers): boolean {
  return headers.has("anthropic-version") || (headers.has("x-api-key") && !headers.has("authorization"));
}

/** The protocol of a request: its path's, but Anthropic's for a model listing an Anthropic client asks for. */
export function protocolOfRequest(path: string, headers: Headers): ClientProtocol {
  if ((path === "/v1/models" || path.startsWith("/v1/models/")) && isAnthropicClient(headers))
    return "anthropic";
  return protocolOfPath(path);
}

/** Anthropic's `error.type` for each status. */
function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
    case 409:
    case 415:
    case 422:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    default:
      return "api_error";
  }
}

/** The error body of `protocol`: OpenAI's `{error:{…}}`, Anthropic's `{type:"error",…}`, Ollama's `{error:"…"}`. */
export function errorBodyFor(protocol: ClientProtocol, error: MappedError): object {
  switch (protocol) {
    case "anthropic": {
      // Anthropic's own wording for a prompt over the context, which clients match to compact it.
      const message = error.contextLength
        ? `prompt is too long: ${error.contextLength.promptTokens} tokens > ${error.contextLength.contextTokens} maximum`
        : error.message;
      return { type: "error", error: { type: anthropicErrorType(error.status), message } };
    }
    case "ollama":
      return { error: error.message };
    case "openai":
      return openAIErrorBody(error);
  }
}

/**
 * The `error` of a Responses API response that failed after its stream began (`response.failed`):
 * the API's own codes for the server's failures and for rate limits, herd's code otherwise.
 */
export function responseFailureOf(error: MappedError): { code: string; message: string } {
  if (error.status === 429) return { code: "rate_limit_exceeded", message: error.message };
  if (error.status >= 500) return { code: "server_error", message: error.message };
  return { code: error.code, message: error.message };
}
