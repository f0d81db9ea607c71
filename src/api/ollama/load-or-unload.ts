import type { ApiDependencies } from "../api-dependencies.js";
import { startAutoload } from "../autoload.js";

/**
 * Ollama's way to load a model (a request with nothing to answer) or, with `keep_alive: 0`, to
 * unload it. Loading needs `--autoload`; without it the answer says to run `herd load`.
 */
export async function loadOrUnload(
  dependencies: ApiDependencies,
  signal: AbortSignal,
  body: { model: string; keep_alive?: string | number },
  model: string,
  kind: "chat" | "generate",
): Promise<Response> {
  const base = { model: body.model, created_at: new Date().toISOString() };
  const reply = kind === "chat" ? { message: { role: "assistant", content: "" } } : { response: "" };
  if (body.keep_alive === 0 || body.keep_alive === "0" || body.keep_alive === "0s") {
    await dependencies.models.require(model);
    await dependencies.instances.unload(model);
    return Response.json({ ...base, ...reply, done: true, done_reason: "unload" });
  }
  const load = await startAutoload(dependencies, model, signal);
  if (load) await load.ready;
  else (await dependencies.router.route(model)).release();
  return Response.json({ ...base, ...reply, done: true, done_reason: "load" });
}
