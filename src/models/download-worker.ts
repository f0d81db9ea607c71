/**
 * The download worker's thread (see `download-in-worker.ts`): makes the range source, runs
 * `downloadFile`, and reports progress (at most every 50 ms), retries and the outcome.
 */
import { parentPort, workerData } from "node:worker_threads";
import { downloadFile, type RangeSource } from "./download-file.js";
import {
  type DownloadWorkerData,
  type DownloadWorkerMessage,
  type RangeSourceFactory,
  serializeError,
} from "./download-in-worker.js";

const port = parentPort!;
const data = workerData as DownloadWorkerData;
const send = (message: DownloadWorkerMessage) => port.postMessage(message);
const stop = new AbortController();
port.on("message", (message: { type: string }) => {
  if (message.type === "abort") stop.abort(new Error("stopped"));
});

async function makeSource(factory: RangeSourceFactory): Promise<RangeSource & { close(): void }> {
  const module = (await import(factory.module)) as Record<string, unknown>;
  const make = module[factory.name];
  if (typeof make !== "function") throw new Error(`${factory.module} exports no function ${factory.name}`);
  return make(...factory.args) as RangeSource & { close(): void };
}

let lastSent = 0;
let pending: number | undefined;
const flush = () => {
  if (pending === undefined) return;
  send({ type: "progress", presentBytes: pending });
  pending = undefined;
  lastSent = performance.now();
};

try {
  const source = await makeSource(data.source);
  try {
    const result = await downloadFile({
      ...data,
      source,
      signal: stop.signal,
      onProgress: (presentBytes) => {
        pending = presentBytes;
        if (performance.now() - lastSent >= 50) flush();
      },
      onRetry: (error) => send({ type: "retry", error: serializeError(error) }),
    });
    flush();
    send({ type: "done", result });
  } finally {
    source.close();
  }
} catch (error) {
  flush();
  send({ type: "error", error: serializeError(error) });
} finally {
  port.close();
}
