import type { Router } from "../inference/router.js";
import type { ModelStore } from "../models/model-store.js";

/**
 * The store's name for a model a client asked for. Ollama clients say `name:tag` and mean `name`
 * by `name:latest`, OpenAI clients say `name`: both reach the same model. A name the store holds
 * as written always wins; a name it does not hold is kept as asked (another node may serve it).
 * With `router`, a name an instance serves as written is taken without reading the store from disk,
 * since every inference request passes here before its first token.
 */
export async function resolveModelName(
  models: ModelStore,
  requested: string,
  router?: Pick<Router, "serves">,
): Promise<string> {
  if (router?.serves(requested)) return requested;
  if (await models.get(requested)) return requested;
  if (requested.endsWith(":latest")) {
    const bare = requested.slice(0, -":latest".length);
    if (bare.length > 0) return bare;
  }
  if (!requested.includes(":") && (await models.get(`${requested}:latest`))) return `${requested}:latest`;
  return requested;
}

/** A store name as Ollama lists it: with its tag, `:latest` when it has none. */
export function ollamaName(name: string): string {
  return name.includes(":") ? name : `${name}:latest`;
}
