import { Worker } from "node:worker_threads";

/**
 * The worker: reads the file in large blocks with plain reads (no stream machinery between the
 * disk and the hash) and posts how far it got, at most every 100 ms, then the hex digest.
 */
const workerSource = `
const { workerData, parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const { openSync, readSync, closeSync } = require("node:fs");
const hash = createHash("sha256");
const buffer = Buffer.allocUnsafe(16 * 1024 * 1024);
const fd = openSync(workerData.path, "r");
let hashed = 0;
let reported = 0;
try {
  for (;;) {
    const read = readSync(fd, buffer, 0, buffer.length, hashed);
    if (read === 0) break;
    hash.update(buffer.subarray(0, read));
    hashed += read;
    if (Date.now() - reported >= 100) {
      reported = Date.now();
      parentPort.postMessage({ hashed });
    }
  }
  parentPort.postMessage({ hashed, digest: hash.digest("hex") });
} finally {
  closeSync(fd);
}
`;

/**
 * The sha256 of a file, computed on a worker thread: hashing gigabytes takes the node's thread
 * for seconds per gigabyte, which would stall its API and its heartbeats. `onProgress` sees the
 * bytes hashed so far; aborting `signal` stops the worker.
 */
export function sha256InWorker(
  path: string,
  options: { signal?: AbortSignal; onProgress?: (hashedBytes: number) => void } = {},
): Promise<string> {
  options.signal?.throwIfAborted();
  const worker = new Worker(workerSource, { eval: true, workerData: { path } });
  return new Promise<string>((resolve, reject) => {
    const onAbort = () => {
      reject(options.signal!.reason);
      void worker.terminate();
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const settle = () => options.signal?.removeEventListener("abort", onAbort);
    worker.on("message", (message: { hashed: number; digest?: string }) => {
      options.onProgress?.(message.hashed);
      if (message.digest === undefined) return;
      settle();
      resolve(message.digest);
    });
    worker.once("error", (error) => {
      settle();
      reject(error);
    });
    worker.once("exit", () => {
      settle();
      reject(new Error(`hashing ${path} stopped`));
    });
  });
}
