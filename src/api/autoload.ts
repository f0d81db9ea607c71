import type { Router } from "../inference/router.js";
import { ConflictError, ModelNotLoadedError } from "../protocol/errors.js";
import { abortAfter } from "../util/abort-after.js";
import type { ApiDependencies } from "./api-dependencies.js";

/** How long a request waits for a model it caused to load. */
const loadTimeoutMs = 15 * 60_000;

const loading = new WeakMap<Router, Map<string, Promise<void>>>();

/**
 * With `--autoload`, a request for a known model that no instance serves places and loads it, as
 * `herd load` does, and waits until it is READY. Returns that wait (wrapped: a promise that holds a
 * promise would be flattened), or undefined when there is nothing to wait for (the model is served,
 * loading already, unknown, or autoload is off): then routing reports the model's state as usual.
 */
export async function startAutoload(
  dependencies: ApiDependencies,
  model: string,
  signal: AbortSignal,
): Promise<{ ready: Promise<void> } | undefined> {
  if (!dependencies.autoload) return undefined;
  try {
    (await dependencies.router.route(model)).release();
    return undefined;
  } catch (error) {
    if (!(error instanceof ModelNotLoadedError)) return undefined;
  }
  let byModel = loading.get(dependencies.router);
  if (!byModel) {
    byModel = new Map();
    loading.set(dependencies.router, byModel);
  }
  let load = byModel.get(model);
  if (!load) {
    load = loadModel(dependencies, model).finally(() => byModel.delete(model));
    byModel.set(model, load);
  }
  const ready = waitUntilServed(dependencies.router, model, load, signal);
  // The caller may stop listening (its client left); the rejection is still observed here.
  ready.catch(() => {});
  return { ready };
}

async function loadModel(dependencies: ApiDependencies, model: string): Promise<void> {
  dependencies.logger.info({ model }, "loading a model a request asked for (--autoload)");
  try {
    await dependencies.instances.load({ model });
  } catch (error) {
    // Another request (or a person) placed it in the meantime: waiting for it is all there is to do.
    if (!(error instanceof ConflictError)) throw error;
  }
}

/** Waits for the load, then for an instance of the model to be READY; past the timeout, says how it is doing. */
async function waitUntilServed(
  router: Router,
  model: string,
  load: Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  await load;
  await router.whenReady(model, abortAfter(loadTimeoutMs, signal)).catch((reason: unknown) => {
    if (signal.aborted) throw reason;
  });
  // READY now, or the timeout passed: routing says which (a FAILED engine, a full queue...).
  (await router.route(model)).release();
}
