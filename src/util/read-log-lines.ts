import { open, stat } from "node:fs/promises";
import { sleep } from "./backoff.js";

export interface ReadLogOptions {
  /** How many of the last lines to start with. */
  lines: number;
  /** Keep reading lines as they are appended, until `signal` aborts. */
  follow: boolean;
  signal?: AbortSignal;
  /** How often to look for new lines when following. Default 250 ms. */
  pollMs?: number;
}

/** Bytes read from the end of the file to find the last lines: a log line is rarely over 2 KiB. */
const bytesPerLine = 2048;

/**
 * The last `lines` lines of a log file, then (when following) each line appended after them. A file
 * that shrinks or is replaced (rotated) is read again from its start; one that does not exist yet
 * counts as empty.
 */
export async function* readLogLines(path: string, options: ReadLogOptions): AsyncGenerator<string> {
  let offset = 0;
  let identity: number | undefined;
  const initial = await stat(path).catch(() => undefined);
  if (initial) {
    identity = initial.ino;
    const start = Math.max(0, initial.size - options.lines * bytesPerLine);
    const text = await readRange(path, start, initial.size);
    const complete = text.slice(0, text.lastIndexOf("\n") + 1);
    const lines = complete.split("\n").slice(start > 0 ? 1 : 0, -1);
    if (options.lines > 0) yield* lines.slice(-options.lines);
    offset = start + Buffer.byteLength(complete);
  }
  let partial = "";
  while (options.follow && !options.signal?.aborted) {
    await sleep(options.pollMs ?? 250, options.signal).catch(() => undefined);
    if (options.signal?.aborted) return;
    const now = await stat(path).catch(() => undefined);
    if (!now) continue;
    if (now.ino !== identity || now.size < offset) {
      identity = now.ino;
      offset = 0;
      partial = "";
    }
    if (now.size === offset) continue;
    const text = partial + (await readRange(path, offset, now.size));
    offset = now.size;
    const lines = text.split("\n");
    partial = lines.pop() ?? "";
    yield* lines;
  }
}

async function readRange(path: string, start: number, end: number): Promise<string> {
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.alloc(end - start);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
    return buffer.subarray(0, bytesRead).toString("utf8");
  } finally {
    await handle.close();
  }
}
