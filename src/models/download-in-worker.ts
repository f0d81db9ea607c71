import { ChecksumMismatchError, HerdError, HubError, InsufficientStorageError } from "../protocol/errors.js";
import { startModuleWorker } from "../util/module-worker.js";
import { type DownloadRequest, type DownloadResult, PermanentDownloadError } from "./download-file.js";

/**
 * Where a download in a worker gets its bytes: a module's exported function that returns a
 * `RangeSource` (with a `close()`), called in the worker with arguments that can cross threads.
 */
export interface RangeSourceFactory {
  /** The module's URL (`import.meta.url` of the module that exports it). */
  module: string;
  /** The exported function's name. */
  name: string;
  args: unknown[];
}

export interface WorkerDownloadRequest extends Omit<DownloadRequest, "source"> {
  source: RangeSourceFactory;
}

/** Messages from the download worker. */
export type DownloadWorkerMessage =
  | { type: "progress"; presentBytes: number }
  | { type: "retry"; error: SerializedError }
  | { type: "done"; result: DownloadResult }
  | { type: "error"; error: SerializedError };

/** What the worker is given. */
export interface DownloadWorkerData
  extends Omit<WorkerDownloadRequest, "signal" | "onProgress" | "onRetry"> {}

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  /** The fields the error's class is rebuilt from. */
  fields?: Record<string, unknown>;
}

/**
 * `downloadFile` on a worker thread of its own. Receiving gigabytes means a stream of socket
 * buffers to collect, and on the node's thread every collection walks the node's whole heap: in
 * `bench:pull` that made a pull through a node take up to twice as long as the same download in a
 * small process. On its own thread, with its own small heap, it runs at that speed, and the node's
 * API and cluster channel are not slowed by it. Errors come back as the classes `downloadFile` throws.
 */
export function downloadInWorker(request: WorkerDownloadRequest): Promise<DownloadResult> {
  const { signal, onProgress, onRetry, ...data } = request;
  signal.throwIfAborted();
  const worker = startModuleWorker(
    new URL(`./download-worker${extensionOf(import.meta.url)}`, import.meta.url),
    {
      workerData: data satisfies DownloadWorkerData,
    },
  );
  return new Promise<DownloadResult>((resolve, reject) => {
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      outcome();
    };
    // The worker stops at the next chunk, records what it wrote, and answers with the abort.
    const onAbort = () => worker.postMessage({ type: "abort" });
    signal.addEventListener("abort", onAbort, { once: true });
    worker.on("message", (message: DownloadWorkerMessage) => {
      switch (message.type) {
        case "progress":
          onProgress?.(message.presentBytes);
          break;
        case "retry":
          onRetry?.(reviveError(message.error));
          break;
        case "done":
          finish(() => resolve(message.result));
          break;
        case "error":
          finish(() => reject(signal.aborted ? signal.reason : reviveError(message.error)));
          break;
      }
    });
    worker.once("error", (error) => finish(() => reject(error)));
    worker.once("exit", (code) =>
      finish(() =>
        reject(new HerdError(`the download of ${request.label} stopped (worker exit code ${code})`)),
      ),
    );
  });
}

function extensionOf(url: string): string {
  return url.endsWith(".ts") ? ".ts" : ".js";
}

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: "Error", message: String(error) };
  const code = (error as NodeJS.ErrnoException).code;
  const serialized: SerializedError = { name: error.name, message: error.message, ...(code ? { code } : {}) };
  if (error instanceof HubError) serialized.fields = { hubStatus: error.hubStatus };
  else if (error instanceof ChecksumMismatchError)
    serialized.fields = { file: error.file, expected: error.expected, actual: error.actual };
  else if (error instanceof InsufficientStorageError)
    serialized.fields = { directory: error.directory, detail: error.detail };
  return serialized;
}

export function reviveError(serialized: SerializedError): Error {
  const fields = serialized.fields ?? {};
  switch (serialized.name) {
    case "HubError":
      return new HubError(serialized.message, fields.hubStatus as number);
    case "ChecksumMismatchError":
      return new ChecksumMismatchError(
        fields.file as string,
        fields.expected as string,
        fields.actual as string,
      );
    case "InsufficientStorageError":
      return new InsufficientStorageError(
        fields.directory as string,
        fields.detail as InsufficientStorageError["detail"],
      );
    case "PermanentDownloadError":
      return new PermanentDownloadError(serialized.message);
    default: {
      const error: NodeJS.ErrnoException = new Error(serialized.message);
      error.name = serialized.name;
      if (serialized.code) error.code = serialized.code;
      return error;
    }
  }
}
