import { z } from "zod";
import { ContextLengthExceededError, EngineError, InvalidRequestError } from "../protocol/errors.js";

/**
 * An engine's error object: llama-server's `{code, message, type}`, which adds the token counts
 * for a prompt longer than the context; or the same error as a herd node that passed it on words
 * it (OpenAI's `context_length_exceeded`, keeping the counts).
 */
const EngineErrorObject = z.looseObject({
  message: z.string().optional(),
  type: z.string().optional(),
  code: z.unknown().optional(),
  n_prompt_tokens: z.number().int().nonnegative().optional(),
  n_ctx: z.number().int().nonnegative().optional(),
});

/** The context-length error an engine's error object reports, if that is what it reports. */
export function contextLengthErrorOf(value: unknown): ContextLengthExceededError | undefined {
  const parsed = EngineErrorObject.safeParse(value);
  if (!parsed.success) return undefined;
  const error = parsed.data;
  const aboutContext = error.type === "exceed_context_size_error" || error.code === "context_length_exceeded";
  if (!aboutContext || error.n_prompt_tokens === undefined || error.n_ctx === undefined) return undefined;
  return new ContextLengthExceededError(error.n_prompt_tokens, error.n_ctx);
}

/**
 * What an engine's refusal (a status other than 200, and its body) means for the client: a prompt
 * over the context, another mistake of the request (4xx, in the engine's own words), or an engine
 * failure. Nothing has reached the client yet when this is called.
 */
export function engineRefusal(status: number, text: string): Error {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: the text itself is the best description there is.
  }
  const error = (body as { error?: unknown } | undefined)?.error;
  const contextLength = contextLengthErrorOf(error);
  if (contextLength) return contextLength;
  const message =
    typeof error === "string"
      ? error
      : (EngineErrorObject.safeParse(error).data?.message ?? (text.slice(0, 500) || "no details"));
  if (status >= 400 && status < 500) return new InvalidRequestError(message);
  return new EngineError(`the engine answered ${status}: ${message}`, status);
}
