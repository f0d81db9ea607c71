import { Worker } from "node:worker_threads";

/**
 * The worker: hashes `path` from its start up to the prefix the main thread publishes in shared
 * memory, reading the bytes back from the page cache, and posts the hex digest at `size`.
 */
const workerSource = `
const { workerData, parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const { openSync, readSync, closeSync } = require("node:fs");
const { path, size, shared } = workerData;
const prefix = new Float64Array(shared, 0, 1);
const signal = new Int32Array(shared, 8, 2);
const hash = createHash("sha256");
const buffer = Buffer.allocUnsafe(8 * 1024 * 1024);
const fd = openSync(path, "r");
let hashed = 0;
try {
  while (hashed < size) {
    if (Atomics.load(signal, 1) === 1) break;
    const seen = Atomics.load(signal, 0);
    const limit = prefix[0];
    if (limit <= hashed) { Atomics.wait(signal, 0, seen, 200); continue; }
    const length = Math.min(limit - hashed, buffer.length);
    const read = readSync(fd, buffer, 0, length, hashed);
    if (read === 0) throw new Error("the partial file is shorter than recorded");
    hash.update(buffer.subarray(0, read));
    hashed += read;
  }
  if (hashed === size) parentPort.postMessage({ digest: hash.digest("hex") });
} catch (error) {
  parentPort.postMessage({ error: String(error && error.message || error) });
} finally {
  closeSync(fd);
}
`;

/**
 * Computes a file's sha256 on another thread while it is being written: the writer publishes how
 * far the file is complete from its first byte (`advance`), the worker hashes up to there. Keeping
 * the hash off the thread that receives and writes the bytes lets the two run on two cores.
 */
export class BackgroundHasher {
  private readonly shared = new SharedArrayBuffer(16);
  private readonly prefix = new Float64Array(this.shared, 0, 1);
  private readonly signal = new Int32Array(this.shared, 8, 2);
  private readonly worker: Worker;
  readonly digest: Promise<string>;

  constructor(path: string, size: number) {
    this.worker = new Worker(workerSource, { eval: true, workerData: { path, size, shared: this.shared } });
    this.digest = new Promise<string>((resolve, reject) => {
      this.worker.once("message", (message: { digest?: string; error?: string }) =>
        message.digest ? resolve(message.digest) : reject(new Error(message.error ?? "hashing stopped")),
      );
      this.worker.once("error", reject);
      this.worker.once("exit", () => reject(new Error("hashing stopped")));
    });
    this.digest.catch(() => {});
  }

  /** The file is complete from its start up to `end`. */
  advance(end: number): void {
    if (end <= this.prefix[0]!) return;
    this.prefix[0] = end;
    Atomics.add(this.signal, 0, 1);
    Atomics.notify(this.signal, 0);
  }

  /** Stops the worker (safe to call after the digest arrived). */
  async stop(): Promise<void> {
    Atomics.store(this.signal, 1, 1);
    Atomics.notify(this.signal, 0);
    await this.worker.terminate();
  }
}
