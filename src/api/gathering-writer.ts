import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { getSystemErrorName } from "node:util";

/** Gathered bytes past which they are written at once, whatever the window. */
const maxGatheredBytes = 64 * 1024;

/**
 * Writes a streamed reply to the client's socket, gathering chunks that come faster than one per
 * half `windowMs` into one write per `windowMs`. With nothing gathered, a chunk goes out at once
 * when it comes at least half a window after the one before it, or the one before it did (a
 * stream's second chunk: its first may carry no text, as a chat's role or an Anthropic stream's
 * `message_start` does), or it finds the last write a window old. So the first token and every
 * token of a reply slower than two per window are not delayed, and a faster token (the reply's end
 * too) waits at most `windowMs`. A chunk that goes out at once takes with it whatever else is
 * written in the same turn of the event loop (an adapter writes a token's events one by one), in
 * one write at the turn's end. `windowMs` 0 writes every chunk as it comes.
 *
 * Wakes are the token path's main cost on a machine whose cores the engine keeps busy: each token
 * read from the engine wakes the node, and each write to the client is a system call that wakes the
 * client. While chunks wait, from a reply's second window on, the writer also stops reading
 * `source`'s connection (its `socket`, where it has one: an HTTP response): the tokens that come
 * meanwhile wait in the kernel and are read together, in one wake, just before they leave. Not in
 * the first: a reply that ends within it ends as the engine ends it, where held its end would wait
 * in the kernel for the window to be over. At 3,000 tokens/s and 10 ms, a reply costs
 * about one wake and one write per 30 tokens. At 100 tokens/s (a token every 10 ms) nothing
 * changes: a gathered write would carry one token.
 */
export class GatheringWriter {
  private gathered: Array<string | Uint8Array> = [];
  private gatheredBytes = 0;
  private lastChunkAt = Number.NEGATIVE_INFINITY;
  /** How long the last chunk came after the one before it (for chunks of one turn, the first's). */
  private lastGap = Number.POSITIVE_INFINITY;
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  /** The source's connection this writer stopped reading until the gathered chunks leave. */
  private held: { socket: Socket; handle: ReadingHandle } | undefined;
  /** Windows this writer has gathered in: the first does not hold the source (see write). */
  private windows = 0;
  /**
   * A write is due at the end of this turn (a chunk that goes out at once, or the window's end):
   * what comes in this turn leaves with it.
   */
  private draining = false;
  /** The window is over: read what came meanwhile (in this turn's poll), then write it all. */
  private readonly windowOver = () => {
    this.timer = undefined;
    if (!this.release()) return this.flush();
    this.draining = true;
    setImmediate(this.flushNow);
  };
  private readonly flushNow = () => {
    this.flush();
  };

  constructor(
    private readonly outgoing: ServerResponse,
    private readonly windowMs: number,
    private readonly source?: () => object | undefined,
  ) {
    outgoing.once("close", () => {
      clearTimeout(this.timer);
      this.release();
    });
  }

  /** Writes or gathers `chunk`; false when the client's socket asks the writer to wait for `drain`. */
  write(chunk: string | Uint8Array): boolean {
    if (this.outgoing.destroyed) return true;
    if (this.windowMs === 0) return this.outgoing.write(chunk);
    const now = performance.now();
    // Chunks written in one turn came together: the gap before the first of them stands for all.
    if (this.draining) {
      this.lastChunkAt = now;
      return this.gather(chunk);
    }
    const gap = now - this.lastChunkAt;
    const gapBefore = this.lastGap;
    this.lastChunkAt = now;
    this.lastGap = gap;
    const half = this.windowMs / 2;
    const due = now - this.lastWriteAt >= this.windowMs;
    if (this.gathered.length === 0 && (due || gap >= half || gapBefore >= half)) {
      this.draining = true;
      setImmediate(this.flushNow);
      return this.gather(chunk);
    }
    if (due) {
      this.push(chunk);
      return this.flush();
    }
    const written = this.gather(chunk);
    if (this.timer === undefined && this.gathered.length > 0) {
      this.timer = setTimeout(this.windowOver, this.lastWriteAt + this.windowMs - now);
      // Not in the first window: a reply that ends within it would wait, held, for the window's
      // end to be read. A short reply ends when the engine ends it; a long one pays a wake per
      // token for one window.
      if (this.windows++ > 0) this.held = stopReading(this.source?.());
    }
    return written;
  }

  /** Keeps `chunk` for the next write, which it brings forward once enough is gathered. */
  private gather(chunk: string | Uint8Array): boolean {
    this.push(chunk);
    if (this.gatheredBytes >= maxGatheredBytes) return this.flush();
    // A gathered chunk is not written yet, but a client that has not read the last write holds the
    // stream up all the same (a write the window's end made could not tell the caller).
    return !this.outgoing.writableNeedDrain;
  }

  private push(chunk: string | Uint8Array): void {
    this.gathered.push(chunk);
    this.gatheredBytes += chunk.length;
  }

  /** Writes what is gathered now, in one write. */
  flush(): boolean {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.draining = false;
    this.release();
    if (this.gathered.length === 0 || this.outgoing.destroyed) return true;
    const chunks = this.gathered;
    this.gathered = [];
    this.gatheredBytes = 0;
    this.lastWriteAt = performance.now();
    return this.outgoing.write(joined(chunks));
  }

  /** Writes what is gathered and `last`, and ends the reply. */
  end(last?: string): void {
    this.flush();
    if (last === undefined) this.outgoing.end();
    else this.outgoing.end(last);
  }

  /** Reads the source again; true when the writer had stopped it. */
  private release(): boolean {
    const held = this.held;
    if (!held) return false;
    this.held = undefined;
    // Node clears `reading` where it stopped reading itself (a full buffer): it starts again itself.
    const { socket, handle } = held;
    if (socket.destroyed || (socket as { _handle?: unknown })._handle !== handle || !handle.reading)
      return true;
    const code = handle.readStart();
    // As Node does where it cannot start reading: a connection it would never read again is closed.
    if (code < 0 && getSystemErrorName(code) !== "EALREADY") {
      socket.destroy(new Error(`could not read the engine's connection again: ${getSystemErrorName(code)}`));
    }
    return true;
  }
}

/** What Node's stream handles (`socket._handle`) have to stop and start reading. */
interface ReadingHandle {
  reading: boolean;
  readStop(): number;
  readStart(): number;
}

/**
 * Stops reading the source's connection, where it is one Node reads: libuv stops reading it (a
 * paused stream would read on into its buffer, waking for each token). Node's `reading` flag stays
 * set, or its stream would start reading again at once.
 */
function stopReading(source: object | undefined): { socket: Socket; handle: ReadingHandle } | undefined {
  const socket = (source as { socket?: Socket | null } | undefined)?.socket;
  const handle = (socket as { _handle?: Partial<ReadingHandle> } | null | undefined)?._handle;
  if (!socket || socket.destroyed || !handle?.reading) return undefined;
  if (typeof handle.readStop !== "function" || typeof handle.readStart !== "function") return undefined;
  handle.readStop();
  return { socket, handle: handle as ReadingHandle };
}

function joined(chunks: Array<string | Uint8Array>): string | Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  if (chunks.every((chunk) => typeof chunk === "string")) return chunks.join("");
  return Buffer.concat(chunks.map((chunk) => (typeof chunk === "string" ? Buffer.from(chunk) : chunk)));
}
