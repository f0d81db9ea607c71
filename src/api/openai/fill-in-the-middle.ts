import { randomBytes } from "node:crypto";
import type { Context } from "hono";
import type { z } from "zod";
import type { ApiDependencies } from "../api-dependencies.js";
import { answerChat } from "../chat/answer-chat.js";
import type { EngineRequest } from "../chat/stream-part.js";
import { resolveModelName } from "../model-names.js";
import { completionAdapter } from "./completion-adapter.js";
import type { CompletionRequest } from "./schemas.js";

/** The completion fields llama-server's `/infill` reads under the same names. */
const samplingNames = [
  "max_tokens",
  "temperature",
  "top_p",
  "stop",
  "seed",
  "presence_penalty",
  "frequency_penalty",
] as const;

/**
 * OpenAI's `/v1/completions` with a `suffix` (fill in the middle, as editor plugins ask for code
 * completion): llama-server's own completions ignore the suffix, so the prompt and suffix go to its
 * `/infill` instead, and the answer comes back as OpenAI's completion. A model without FIM tokens
 * gets a 400 naming them. Undefined for every other completion request, which the pass-through
 * serves: it calls this with the body it has read and checked, so that a completion is parsed once.
 */
export async function answerFillInTheMiddle(
  context: Context,
  dependencies: ApiDependencies,
  body: z.infer<typeof CompletionRequest>,
  startedAt: number,
): Promise<Response | undefined> {
  const suffix = (body as { suffix?: unknown }).suffix;
  if (typeof suffix !== "string" || suffix === "" || typeof body.prompt !== "string") return undefined;
  const model = await resolveModelName(dependencies.models, body.model, dependencies.router);
  const request: EngineRequest = { model, input_prefix: body.prompt, input_suffix: suffix };
  for (const name of samplingNames) if (body[name] != null) request[name] = body[name];
  const streamOptions = (body as { stream_options?: { include_usage?: unknown } }).stream_options;
  const adapter = completionAdapter({
    id: `cmpl-${randomBytes(12).toString("hex")}`,
    model: body.model,
    created: Math.floor(Date.now() / 1000),
    includeUsage: streamOptions?.include_usage === true,
  });
  return answerChat(context, dependencies, adapter, {
    request,
    path: "/infill",
    stream: body.stream === true,
    startedAt,
  });
}
