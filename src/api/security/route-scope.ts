import type { ApiKeyScope } from "../../protocol/api-keys.js";

/** Ollama routes that only read or run models; the rest of `/api/` (pull, create, delete...) manages them. */
const ollamaInferenceRoutes = new Set([
  "/api/chat",
  "/api/generate",
  "/api/embed",
  "/api/embeddings",
  "/api/tags",
  "/api/show",
  "/api/ps",
  "/api/version",
]);

/**
 * The scope a key needs for `path`, or `public` for what anyone may fetch (the dashboard's files,
 * which then ask for a key). Decided by path alone, so routes added later are covered by where they
 * live: the model APIs need `inference`, herd's management API and Ollama's model management `admin`.
 */
export function requiredScope(path: string): ApiKeyScope | "public" {
  if (path.startsWith("/herd/")) return "admin";
  if (path.startsWith("/api/")) return ollamaInferenceRoutes.has(path) ? "inference" : "admin";
  // llama-server's `/infill` runs a model like the OpenAI routes.
  if (path === "/v1" || path.startsWith("/v1/") || path === "/metrics" || path === "/infill")
    return "inference";
  // Ollama clients probe the root path, and the dashboard lives there: both are public.
  return "public";
}

/** Whether a key of scope `held` may call a route that needs `needed`. */
export function scopeAllows(held: ApiKeyScope, needed: ApiKeyScope): boolean {
  return held === "admin" || needed === "inference";
}
