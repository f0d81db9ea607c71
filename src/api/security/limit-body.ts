import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { PayloadTooLargeError } from "../../protocol/errors.js";

/**
 * Refuses a request body over `maxBytes` with 413. A body that says its length (every SDK's JSON
 * request) is judged by its `content-length` alone: Node's parser holds the body to that length, and
 * the handler then reads it straight from the socket. Hono's own `bodyLimit` looks at the body for
 * every request, which under Node builds a whole Fetch `Request` (and its Web stream) for each one:
 * about a tenth of herd's CPU per request, before the first token. A chunked body, whose length is
 * not known before it is read, still goes through `bodyLimit`, which stops reading once it is over.
 */
export function limitBody(maxBytes: number): MiddlewareHandler {
  const tooLarge = () => {
    throw new PayloadTooLargeError(maxBytes);
  };
  const chunked = bodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return (context, next) => {
    const method = context.req.method;
    if (method === "GET" || method === "HEAD" || method === "OPTIONS") return next();
    const length = context.req.header("content-length");
    if (length === undefined || context.req.header("transfer-encoding") !== undefined)
      return chunked(context, next);
    if (Number(length) > maxBytes) tooLarge();
    return next();
  };
}
