import type { Context, MiddlewareHandler } from "hono";
import type { ApiKeyRecord } from "../../protocol/api-keys.js";
import { AuthenticationError, PermissionError } from "../../protocol/errors.js";
import { limitBody } from "./limit-body.js";
import { estimateTokens, RateLimiter } from "./rate-limiter.js";
import { requiredScope, scopeAllows } from "./route-scope.js";

/** The keys the API checks requests against. */
export interface ApiKeyDirectory {
  readonly hasActiveKeys: boolean;
  verify(secret: string): ApiKeyRecord | undefined;
  list(): ApiKeyRecord[];
}

export interface ApiSecurityOptions {
  apiKeys: ApiKeyDirectory;
  /** The API listens on an address other machines can reach. */
  exposed: boolean;
  /** Serve without keys even when exposed (`--insecure-no-auth`). */
  insecureNoAuth: boolean;
  maxBodyBytes: number;
}

/** Whether requests must carry a key: whenever one exists, and always on an exposed API, unless insecure. */
export function authRequired(options: ApiSecurityOptions): boolean {
  return !options.insecureNoAuth && (options.exposed || options.apiKeys.hasActiveKeys);
}

/**
 * Requests another node forwarded over the cluster channel, where the cluster key already
 * authenticated them (and the receiving node checked the client's key and limits).
 */
export function isClusterForwarded(context: Context): boolean {
  return (context.env as { herdClusterForwarded?: boolean } | undefined)?.herdClusterForwarded === true;
}

/** The key a request presents: `Authorization: Bearer <key>` (OpenAI, Ollama) or `x-api-key` (Anthropic). */
function presentedKey(context: Context): string | undefined {
  const authorization = context.req.header("authorization");
  const bearer = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
  return bearer ?? context.req.header("x-api-key")?.trim();
}

/**
 * Authentication, scopes, body size and per-key rate limits, in that order: a client without a key
 * costs the node no body reading. Each rejection is an error the app maps to the client protocol's
 * shape, by path.
 */
export function apiSecurity(options: ApiSecurityOptions): MiddlewareHandler[] {
  const limiter = new RateLimiter();
  const authenticate: MiddlewareHandler = async (context, next) => {
    if (isClusterForwarded(context) || context.req.method === "OPTIONS") return next();
    const needed = requiredScope(context.req.path);
    if (needed === "public" || !authRequired(options)) return next();
    const secret = presentedKey(context);
    if (secret === undefined) {
      throw new AuthenticationError(
        "this node requires an API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>' (create one with 'herd keys create')",
      );
    }
    const key = options.apiKeys.verify(secret);
    if (!key) throw new AuthenticationError("the API key is not valid (unknown or revoked)");
    if (!scopeAllows(key.scope, needed)) {
      throw new PermissionError(
        `API key '${key.name}' has scope '${key.scope}'; ${context.req.method} ${context.req.path} needs an '${needed}' key`,
      );
    }
    context.set("apiKey" as never, key as never);
    // The key's policy binds every request made with it (see `requestPolicy`).
    context.set("policy" as never, key.policy as never);
    return next();
  };
  const limitRate: MiddlewareHandler = async (context, next) => {
    const key = context.get("apiKey" as never) as ApiKeyRecord | undefined;
    if (!key) return next();
    const tokens =
      context.req.method === "POST" && requiredScope(context.req.path) === "inference"
        ? estimateTokens(await context.req.text())
        : 0;
    limiter.admit(key, tokens);
    return next();
  };
  return [authenticate, limitBody(options.maxBodyBytes), limitRate];
}
