import { z } from "zod";

/**
 * Where a model's requests may go: only the cluster's own instances, the cluster first and an
 * upstream when every local instance is full or down, or always the upstream.
 */
export const ModelRoute = z.enum(["local-only", "local-then-upstream", "upstream"]);
export type ModelRoute = z.infer<typeof ModelRoute>;

/**
 * What a request may do. `local-only` guarantees that it is served inside the cluster or not at all,
 * whatever the model's route says. Set per request (`x-herd-policy` header) or per API key; the
 * stricter one wins.
 */
export const RequestPolicy = z.enum(["local-only", "any"]);
export type RequestPolicy = z.infer<typeof RequestPolicy>;

/** The strictest of several policies (an absent one allows anything). */
export function strictestPolicy(...policies: Array<RequestPolicy | undefined>): RequestPolicy {
  return policies.includes("local-only") ? "local-only" : "any";
}

/**
 * An external service that serves some models: another herd, vLLM, a cloud API. Its key is never
 * stored or replicated, only the name of the environment variable each node reads it from.
 */
export const Upstream = z.object({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "use letters, digits, '.', '_' and '-' only"),
  /** Base URL, with or without a trailing `/v1` (e.g. `https://api.openai.com/v1`). */
  url: z.url({ protocol: /^https?$/ }),
  /** The environment variable that holds the API key on every node (absent: no key is sent). */
  keyEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name")
    .optional(),
  kind: z.enum(["openai", "anthropic"]).default("openai"),
  /** The models it serves: the name clients use, and the upstream's own name when it differs. */
  models: z
    .array(z.object({ name: z.string().min(1).max(128), upstreamName: z.string().min(1).max(256) }))
    .min(1)
    .max(256),
  addedAt: z.string(),
});
export type Upstream = z.infer<typeof Upstream>;
