import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * Starts a worker thread running the module at `moduleUrl`. Built, that is a `.js` file and runs as
 * it is; from source (tests, benchmarks: `.ts` under tsx or vitest) the worker first registers
 * tsx's loader, which a worker does not inherit from its parent.
 */
export function startModuleWorker(moduleUrl: URL, options: WorkerOptions = {}): Worker {
  if (!moduleUrl.pathname.endsWith(".ts")) return new Worker(moduleUrl, options);
  const loader = import.meta.resolve("tsx/esm/api");
  const bootstrap = `(async () => {
    (await import(${JSON.stringify(loader)})).register();
    await import(${JSON.stringify(moduleUrl.href)});
  })().catch((error) => { setImmediate(() => { throw error; }); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
