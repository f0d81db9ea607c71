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
  const infill = /^Infill is not supported by this model: (.*)/.exec(message);
  if (infill) return fillInMiddleRefusal(infill[1]!);
  if (status >= 400 && status < 500) return new InvalidRequestError(message);
  return new EngineError(`the engine answered ${status}: ${message}`, status);
}

/**
 * llama-server's `/infill` on a model without fill-in-the-middle tokens ("prefix token is missing.
 * suffix token is missing. ..."): a 400 for the request's `suffix`, naming what the model lacks.
 */
function fillInMiddleRefusal(missing: string): InvalidRequestError {
  const tokens = [...missing.matchAll(/(\w+) token is missing/g)].map((match) => match[1]);
  const named = tokens.length > 1 ? `${tokens.slice(0, -1).join(", ")} and ${tokens.at(-1)}` : tokens[0];
  return new InvalidRequestError(
    `this model cannot fill in the middle (suffix): its vocabulary has no FIM ${named ?? "prefix, suffix and middle"} token${tokens.length === 1 ? "" : "s"}; send the prompt without a suffix, or use a code model trained for fill-in-the-middle`,
    "suffix",
  );
}
