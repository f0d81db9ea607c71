import type { Context } from "hono";
import { InvalidRequestError } from "../protocol/errors.js";
import { RequestPolicy, strictestPolicy } from "../protocol/upstream.js";

/** The request header that asks for a policy, e.g. `x-herd-policy: local-only`. */
export const policyHeader = "x-herd-policy";

/**
 * The policy a request runs under: the stricter of its `x-herd-policy` header and the `policy`
 * context variable, which API-key handling sets from the key's own policy. A request can make itself
 * stricter than its key, never looser.
 */
export function requestPolicy(context: Context): RequestPolicy {
  const header = context.req.header(policyHeader);
  let asked: RequestPolicy | undefined;
  if (header !== undefined) {
    const parsed = RequestPolicy.safeParse(header.trim());
    if (!parsed.success)
      throw new InvalidRequestError(
        `${policyHeader} must be 'local-only' or 'any', got '${header}'`,
        policyHeader,
      );
    asked = parsed.data;
  }
  const fromKey = (context.var as { policy?: RequestPolicy }).policy;
  return strictestPolicy(asked, fromKey);
}
