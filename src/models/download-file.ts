import { type FileHandle, open, rename, rm, stat, statfs, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { ChecksumMismatchError, HerdError, HubError, InsufficientStorageError } from "../protocol/errors.js";
import { Backoff, sleep } from "../util/backoff.js";
import { readJsonFile } from "../util/json-file.js";
import { BackgroundHasher } from "./background-hasher.js";

/** Where a download's bytes come from: any byte range of the file, on demand. */
export interface RangeSource {
  /**
   * Exactly the bytes `[start, end)` of the file, in order; a run of chunks is written with one call.
   * A chunk may be valid only until the next is asked for (a source may reuse its memory).
   */
  open(start: number, end: number, signal: AbortSignal): Promise<AsyncIterable<Uint8Array | Uint8Array[]>>;
}

/** A failure that trying again cannot fix (a refused token, a missing file, a full disk). */
export class PermanentDownloadError extends HerdError {
  override name = "PermanentDownloadError";
}

export interface DownloadRequest {
  source: RangeSource;
  /** Where the file ends up once verified; until then it is `<path>.part`, with `<path>.part.json`. */
  path: string;
  sizeBytes: number;
  /** The expected hex sha256; the download is refused when the bytes do not match it. */
  sha256: string;
  /** The file's name in messages. */
  label: string;
  signal: AbortSignal;
  /** Called with the bytes present so far (on disk), after every chunk written. */
  onProgress?: (presentBytes: number) => void;
  /** Connections for a large file, each fetching its own range. Default 4. */
  connections?: number;
  /** Files at least this large are fetched over several connections. Default 32 MiB. */
  parallelFromBytes?: number;
  /**
   * The size of the ranges a parallel download is cut into, taken in file order by whichever
   * connection is free. Default: a sixteenth of the file per connection, between 4 and 256 MiB.
   */
  chunkBytes?: number;
  /** Attempts per range after a failure that made no progress. Default 4. */
  retries?: number;
  /** Told of each failure that will be retried, for the log. */
  onRetry?: (error: unknown) => void;
}

export interface DownloadResult {
  /** Bytes received in this call (a resumed download receives only what was missing). */
  transferredBytes: number;
}

const Segment = z.object({ start: z.number(), end: z.number(), done: z.number() });
type Segment = z.infer<typeof Segment>;
const PartState = z.object({ sizeBytes: z.number(), sha256: z.string(), segments: z.array(Segment) });
type PartState = z.infer<typeof PartState>;

const alignment = 1024 * 1024;
const minChunkBytes = 4 * 1024 * 1024;
const maxChunkBytes = 256 * 1024 * 1024;
const chunksPerConnection = 16;

/** Bytes of `path` already downloaded by an earlier, interrupted call (0 when there is none). */
export async function presentBytes(path: string, sizeBytes: number, sha256: string): Promise<number> {
  const state = await loadState(path, sizeBytes, sha256);
  return state ? sumDone(state) : 0;
}

/**
 * Downloads a file with HTTP-range-style resumption: the bytes go to `<path>.part` at their offset,
 * and `<path>.part.json` records how far each range got, so a later call fetches only what is
 * missing. Large files are split into ranges fetched in parallel. The sha256 is computed while the
 * bytes arrive (on another thread, in file order, reading back what was written) and compared before the
 * file is renamed into place: on a mismatch the partial file is deleted, since resuming it could only
 * reproduce the same bad bytes.
 */
export async function downloadFile(request: DownloadRequest): Promise<DownloadResult> {
  request.signal.throwIfAborted();
  const partPath = `${request.path}.part`;
  let state = await loadState(request.path, request.sizeBytes, request.sha256);
  let handle: FileHandle;
  if (state) {
    handle = await open(partPath, "r+");
  } else {
    state = freshState(request);
    // Each range is written at its offset, leaving holes where others have not arrived yet. The file
    // is not sized up front: on ext4, writing into a file truncated to its full size costs about a
    // third more system time than letting the writes extend it (measured with bench:pull).
    handle = await open(partPath, "w+");
    await writeRecord(`${partPath}.json`, state);
  }
  const stop = new AbortController();
  const onAbort = () => stop.abort(request.signal.reason);
  request.signal.addEventListener("abort", onAbort, { once: true });
  const hasher = new BackgroundHasher(partPath, request.sizeBytes);
  let transferredBytes = 0;
  // The record is saved every second and at the end; one save at a time, so an older one never lands last.
  let saving: Promise<void> = Promise.resolve();
  const save = () => {
    saving = saving.then(() => writeRecord(`${partPath}.json`, state)).catch(() => {});
    return saving;
  };
  const saver = setInterval(() => void save(), 1000);
  let workers: Array<Promise<void>> = [];
  try {
    const progress = () => request.onProgress?.(sumDone(state));
    progress();
    // The hashing thread is woken every few MiB, not for every chunk.
    let published = 0;
    const advance = () => {
      const prefix = completePrefix(state);
      if (prefix - published < 4 * 1024 * 1024 && prefix < request.sizeBytes) return;
      published = prefix;
      hasher.advance(prefix);
    };
    // Each connection takes the next missing range in file order, so the part complete from the
    // first byte grows steadily and the hash keeps pace with the download instead of starting late.
    const missing = state.segments.filter((segment) => segment.done < segment.end - segment.start);
    let next = 0;
    const connection = async () => {
      while (next < missing.length) {
        stop.signal.throwIfAborted();
        await fetchSegment(request, handle, missing[next++]!, stop.signal, (bytes) => {
          transferredBytes += bytes;
          advance();
          progress();
        });
      }
    };
    const connections = Math.min(missing.length, Math.max(1, request.connections ?? 4));
    workers = Array.from({ length: connections }, () =>
      connection().catch((error: unknown) => {
        // One range failing for good ends the others: the caller gets the first real error.
        stop.abort(error);
        throw error;
      }),
    );
    hasher.advance(completePrefix(state));
    await Promise.all(workers);
    hasher.advance(completePrefix(state));
    const actual = await hasher.digest;
    clearInterval(saver);
    await saving;
    if (actual !== request.sha256.toLowerCase()) {
      await handle.close();
      await rm(partPath, { force: true });
      await rm(`${partPath}.json`, { force: true });
      throw new ChecksumMismatchError(request.label, request.sha256, actual);
    }
    await handle.close();
    await rename(partPath, request.path);
    await rm(`${partPath}.json`, { force: true });
    return { transferredBytes };
  } catch (error) {
    stop.abort(error);
    clearInterval(saver);
    if (!(error instanceof ChecksumMismatchError)) {
      // Let every range finish the write it is in, so the record counts all the bytes on disk.
      await Promise.allSettled(workers);
      await handle.close().catch(() => {});
      await save();
    }
    throw await explainFailure(error, request, state);
  } finally {
    clearInterval(saver);
    await hasher.stop();
    request.signal.removeEventListener("abort", onAbort);
  }
}

async function fetchSegment(
  request: DownloadRequest,
  handle: FileHandle,
  segment: Segment,
  signal: AbortSignal,
  onBytes: (bytes: number) => void,
): Promise<void> {
  const backoff = new Backoff({ initialMs: 200, maxMs: 5000 });
  const length = segment.end - segment.start;
  let failures = 0;
  while (segment.done < length) {
    const from = segment.done;
    try {
      const body = await request.source.open(segment.start + segment.done, segment.end, signal);
      for await (const piece of body) {
        const chunks = Array.isArray(piece) ? piece : [piece];
        const bytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
        if (segment.done + bytes > length)
          throw new PermanentDownloadError(`${request.label}: the source sent more bytes than asked for`);
        await writeAll(handle, chunks, segment.start + segment.done);
        segment.done += bytes;
        onBytes(bytes);
        // Checked after the write: what arrived is kept, not fetched again next time.
        signal.throwIfAborted();
      }
      if (segment.done < length) throw new Error("the connection closed early");
    } catch (error) {
      if (signal.aborted) throw signal.reason ?? error;
      if (error instanceof PermanentDownloadError || error instanceof HubError || isDiskFull(error))
        throw error;
      // Retry a range that broke; only a streak of attempts that each brought nothing gives up.
      if (segment.done > from) failures = 0;
      if (++failures > (request.retries ?? 4)) throw error;
      request.onRetry?.(error);
      await sleep(backoff.nextDelay(0), signal);
    }
  }
}

/** End of the part of the file that is complete from its first byte. */
function completePrefix(state: PartState): number {
  let end = 0;
  for (const segment of state.segments) {
    end = segment.start + segment.done;
    if (segment.done < segment.end - segment.start) break;
  }
  return end;
}

function freshState(request: DownloadRequest): PartState {
  const { sizeBytes } = request;
  const parallel = sizeBytes >= (request.parallelFromBytes ?? 32 * 1024 * 1024);
  const connections = Math.max(1, request.connections ?? 4);
  const chunk =
    request.chunkBytes ??
    Math.min(maxChunkBytes, Math.max(minChunkBytes, sizeBytes / (connections * chunksPerConnection)));
  const step = parallel ? Math.max(alignment, Math.ceil(chunk / alignment) * alignment) : sizeBytes;
  const segments: Segment[] = [];
  for (let start = 0; start < sizeBytes || segments.length === 0; start += step) {
    segments.push({ start, end: Math.min(sizeBytes, start + step), done: 0 });
  }
  return { sizeBytes, sha256: request.sha256.toLowerCase(), segments };
}

/** The state of an earlier attempt at this very file, if its partial file is still there intact. */
async function loadState(path: string, sizeBytes: number, sha256: string): Promise<PartState | undefined> {
  const state = await readJsonFile(`${path}.part.json`, PartState).catch(() => undefined);
  if (!state || state.sizeBytes !== sizeBytes || state.sha256 !== sha256.toLowerCase()) return undefined;
  // The file must hold every byte the record counts (it may be shorter than the whole: holes at the end).
  const written = Math.max(
    0,
    ...state.segments.filter((segment) => segment.done > 0).map((segment) => segment.start + segment.done),
  );
  const part = await stat(`${path}.part`).catch(() => undefined);
  return part && part.size >= written && part.size <= sizeBytes ? state : undefined;
}

function sumDone(state: PartState): number {
  return state.segments.reduce((sum, segment) => sum + segment.done, 0);
}

async function writeAll(handle: FileHandle, chunks: Uint8Array[], position: number): Promise<void> {
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const { bytesWritten } = await handle.writev(chunks, position);
  if (bytesWritten === total) return;
  // A short write (rare on files): write the rest piece by piece.
  let offset = 0;
  for (const chunk of chunks) {
    let from = Math.max(0, bytesWritten - offset);
    offset += chunk.length;
    while (from < chunk.length) {
      const written = await handle.write(
        chunk,
        from,
        chunk.length - from,
        position + offset - chunk.length + from,
      );
      from += written.bytesWritten;
    }
  }
}

function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/** A full disk becomes an error that says how much room is missing; others pass through. */
async function explainFailure(error: unknown, request: DownloadRequest, state: PartState): Promise<unknown> {
  if (!isDiskFull(error)) return error;
  const directory = dirname(request.path);
  const free = await statfs(directory).then(
    (stats) => stats.bavail * stats.bsize,
    () => 0,
  );
  return new InsufficientStorageError(
    directory,
    { neededBytes: request.sizeBytes - sumDone(state), availableBytes: free },
    { cause: error },
  );
}

/** Throws `InsufficientStorageError` when `directory`'s filesystem has less than `neededBytes` free. */
export async function ensureFreeSpace(directory: string, neededBytes: number): Promise<void> {
  const stats = await statfs(directory);
  const free = stats.bavail * stats.bsize;
  if (neededBytes > free)
    throw new InsufficientStorageError(directory, { neededBytes, availableBytes: free });
}

/** A file `downloadFile` finished (verified and renamed into place) that was not used yet. */
export async function isDownloaded(path: string, sizeBytes: number): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.size === sizeBytes;
}

/**
 * Saves the progress record by rename, without fsync: an fsync every second would also force the
 * partial file's gigabytes of dirty pages to disk (ordered journaling), slowing the download to disk
 * speed. After a power loss the record may be stale or missing; the download then resumes from less
 * or starts again, and the sha256 check still catches any torn bytes.
 */
async function writeRecord(path: string, state: PartState): Promise<void> {
  await writeFile(`${path}.tmp`, JSON.stringify(state));
  await rename(`${path}.tmp`, path);
}
