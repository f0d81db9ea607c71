import { isIP, connect as netConnect, type Socket } from "node:net";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";

/**
 * Byte ranges over kept-alive HTTP/1.1 connections that read into memory they reuse.
 *
 * Node's HTTP client allocates a new buffer for every read from the socket. Over a multi-gigabyte
 * download those buffers are most of the download's CPU: receiving 2 GiB over loopback and dropping
 * it took 1.4-1.75 s of CPU through `http.get`, against 0.35 s reading into one reused buffer (curl:
 * 0.36 s), and the written-then-dropped buffers kept the collector busy besides. Here each connection
 * reads into its own buffer, and the body is copied from it into a few slabs that are handed to the
 * writer and taken back when it asks for more.
 *
 * Only the plain answer is read here: `206 Partial Content` for exactly the range asked, with a
 * `Content-Length` and no transfer or content coding. Anything else (a redirect, a refusal, a whole
 * file, a chunked body) returns `undefined`, and the caller asks again through Node's HTTP client,
 * which handles every case.
 */
export class RangeConnections {
  private readonly idle = new Map<string, RangeConnection[]>();
  private closed = false;

  /**
   * @param tls TLS options for `https:` addresses (a CA, the cluster's pre-shared key, ...).
   * @param timeoutMs How long a connection may bring nothing before it is given up.
   */
  constructor(
    private readonly tls: ConnectionOptions = {},
    private readonly timeoutMs = idleTimeoutMs,
  ) {}

  /**
   * The bytes `[start, end)` of `url` as chunks in order, each valid until the next is asked for
   * (its memory is then reused); `undefined` when the server answers anything but the plain 206.
   * Every byte that arrived before a connection broke is handed over before the error is thrown.
   */
  async fetch(
    url: URL,
    start: number,
    end: number,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<AsyncIterable<Uint8Array[]> | undefined> {
    signal.throwIfAborted();
    const key = url.origin;
    for (;;) {
      const reused = this.takeIdle(key);
      const connection = reused ?? new RangeConnection(url, this.tls, this.timeoutMs);
      try {
        const answer = await new RangeResponse(connection, url, start, end, headers, signal).head;
        if (!answer) connection.destroy();
        return answer?.body((keepAlive) => this.release(key, connection, keepAlive));
      } catch (error) {
        connection.destroy();
        // A kept-alive connection the server closed while it sat idle: ask again on a new one.
        if (reused && error instanceof StaleConnectionError) continue;
        throw error;
      }
    }
  }

  /** Closes the idle connections; those in use close when their answer is read. */
  close(): void {
    this.closed = true;
    for (const connections of this.idle.values()) for (const connection of connections) connection.destroy();
    this.idle.clear();
  }

  private takeIdle(key: string): RangeConnection | undefined {
    const list = this.idle.get(key);
    for (let connection = list?.pop(); connection; connection = list?.pop())
      if (!connection.broken) return connection;
    return undefined;
  }

  private release(key: string, connection: RangeConnection, keepAlive: boolean): void {
    if (!keepAlive || this.closed || connection.broken) {
      connection.destroy();
      return;
    }
    const list = this.idle.get(key) ?? [];
    list.push(connection);
    this.idle.set(key, list);
    connection.onIdleClose = () => {
      const index = list.indexOf(connection);
      if (index !== -1) list.splice(index, 1);
    };
  }
}

const readBufferBytes = 256 * 1024;
const slabBytes = 1024 * 1024;
/** Slabs filled ahead of the writer before the socket stops reading (then the kernel holds the rest). */
const maxQueuedSlabs = 2;
const maxHeadBytes = 64 * 1024;
/** A connection with nothing to read or write for this long is given up (and the range retried). */
export const idleTimeoutMs = 60_000;

class StaleConnectionError extends Error {
  override name = "StaleConnectionError";
}

/** One socket, reading into one buffer; its bytes go to whichever answer is being read on it. */
class RangeConnection {
  readonly socket: Socket;
  /** Gets each read, a view into the reused buffer that is valid only during the call. */
  onBytes: ((bytes: Uint8Array) => boolean) | undefined;
  onEnd: ((error: Error | undefined) => void) | undefined;
  onIdleClose: (() => void) | undefined;
  broken = false;
  /** Whether any answer was read on this connection (then a close before the next is a stale connection). */
  used = false;
  /** Slabs the answers on this connection fill, kept from one answer to the next. */
  readonly spareSlabs: Buffer[] = [];

  constructor(
    url: URL,
    tls: ConnectionOptions,
    private readonly timeoutMs: number,
  ) {
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const secure = url.protocol === "https:";
    const port = Number(url.port) || (secure ? 443 : 80);
    const onread = {
      buffer: Buffer.allocUnsafe(readBufferBytes),
      callback: (length: number, buffer: Uint8Array) => {
        if (this.onBytes) return this.onBytes(buffer.subarray(0, length));
        // Bytes nobody asked for, on an idle connection (a server's 408, say): it cannot carry
        // another answer, so it leaves the pool now rather than stall the next range.
        this.finish(undefined);
        return false;
      },
    };
    // TLS sockets take `onread` too (Node 15.11 and later); @types/node only declares it for net.
    const tlsOptions: ConnectionOptions = { ...tls, host, port, ...(isIP(host) ? {} : { servername: host }) };
    this.socket = secure
      ? tlsConnect(Object.assign(tlsOptions, { onread }))
      : netConnect({ host, port, onread });
    this.socket.setNoDelay(true);
    // A server that stops sending without closing would otherwise hold the download forever.
    this.socket.setTimeout(timeoutMs);
    this.socket.on("timeout", () =>
      this.finish(new Error(`no data from ${url.host} for ${timeoutMs / 1000} s`)),
    );
    this.socket.on("error", (error) => this.finish(error));
    this.socket.on("end", () => this.finish(undefined));
    this.socket.on("close", () => this.finish(undefined));
  }

  /** Stops reading (the writer is behind); the inactivity timeout waits while this reader holds back. */
  pause(): void {
    this.socket.setTimeout(0);
  }

  resume(): void {
    this.socket.setTimeout(this.timeoutMs);
    this.socket.resume();
  }

  destroy(): void {
    this.broken = true;
    this.onBytes = undefined;
    this.onEnd = undefined;
    this.socket.destroy();
  }

  private finish(error: Error | undefined): void {
    this.broken = true;
    this.onIdleClose?.();
    const onEnd = this.onEnd;
    this.onEnd = undefined;
    onEnd?.(error);
    this.socket.destroy();
  }
}

interface ParsedHead {
  body(release: (keepAlive: boolean) => void): AsyncIterable<Uint8Array[]>;
}

/** One range request on a connection: the head is parsed here, the body copied into slabs. */
class RangeResponse {
  readonly head: Promise<ParsedHead | undefined>;
  private headChunks: Buffer[] = [];
  private headLength = 0;
  private bodyStarted = false;
  private keepAlive = true;
  private received = 0;
  private readonly expected: number;
  // The body: slabs filled and waiting for the writer, the one being filled, and those
  // the writer holds until it asks for more.
  private filled: Array<{ slab: Buffer; view: Buffer }> = [];
  private current: Buffer | undefined;
  private currentLength = 0;
  private lent: Buffer[] = [];
  private failure: Error | undefined;
  private ended = false;
  private paused = false;
  private wake: (() => void) | undefined;
  private settleHead!: (head: ParsedHead | undefined) => void;
  private failHead!: (error: Error) => void;
  private removeAbortListener!: () => void;

  constructor(
    private readonly connection: RangeConnection,
    url: URL,
    private readonly start: number,
    end: number,
    headers: Record<string, string>,
    signal: AbortSignal,
  ) {
    this.expected = end - start;
    this.head = new Promise((resolve, reject) => {
      this.settleHead = resolve;
      this.failHead = reject;
    });
    const reused = connection.used;
    connection.used = true;
    connection.onBytes = (bytes) => this.onBytes(bytes);
    connection.onEnd = (error) => {
      if (!this.bodyStarted) {
        this.failHead(
          reused && this.headLength === 0
            ? new StaleConnectionError("the kept-alive connection was closed")
            : (error ?? new Error("the connection closed before the answer's head")),
        );
        return;
      }
      if (!this.ended) this.fail(error ?? new Error("the connection closed early"));
    };
    const onAbort = () => {
      const reason = signal.reason instanceof Error ? signal.reason : new Error("aborted");
      connection.destroy();
      this.failHead(reason);
      this.fail(reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    this.removeAbortListener = () => signal.removeEventListener("abort", onAbort);
    void this.head.catch(() => this.removeAbortListener());
    const lines = [
      `GET ${url.pathname}${url.search} HTTP/1.1`,
      `Host: ${url.host}`,
      `Range: bytes=${start}-${end - 1}`,
      "Accept-Encoding: identity",
      "Connection: keep-alive",
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ];
    connection.socket.write(`${lines.join("\r\n")}\r\n\r\n`);
  }

  private onBytes(bytes: Uint8Array): boolean {
    if (!this.bodyStarted) {
      this.headChunks.push(Buffer.from(bytes));
      this.headLength += bytes.length;
      const all = Buffer.concat(this.headChunks);
      const headEnd = all.indexOf("\r\n\r\n");
      if (headEnd === -1) {
        if (this.headLength > maxHeadBytes) this.failHead(new Error("the answer's head is too long"));
        return true;
      }
      this.headChunks = [];
      if (!this.parseHead(all.subarray(0, headEnd).toString("latin1"))) {
        this.removeAbortListener();
        this.connection.onBytes = undefined;
        this.connection.onEnd = undefined;
        this.settleHead(undefined);
        return false;
      }
      this.bodyStarted = true;
      this.settleHead({ body: (release) => this.body(release) });
      return this.take(all.subarray(headEnd + 4));
    }
    return this.take(bytes);
  }

  /** Whether the head is the plain answer this reader handles. */
  private parseHead(text: string): boolean {
    const [statusLine = "", ...headerLines] = text.split("\r\n");
    const status = /^HTTP\/1\.([01]) (\d{3})/.exec(statusLine);
    if (status?.[2] !== "206") return false;
    const headers = new Map<string, string>();
    for (const line of headerLines) {
      const colon = line.indexOf(":");
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const range = /^bytes (\d+)-(\d+)\//.exec(headers.get("content-range") ?? "");
    const coded = (name: string) => !["", "identity"].includes((headers.get(name) ?? "").toLowerCase());
    if (
      !range ||
      Number(range[1]) !== this.start ||
      Number(range[2]) !== this.start + this.expected - 1 ||
      Number(headers.get("content-length")) !== this.expected ||
      coded("transfer-encoding") ||
      coded("content-encoding")
    )
      return false;
    const options = (headers.get("connection") ?? "")
      .toLowerCase()
      .split(",")
      .map((token) => token.trim());
    this.keepAlive = status[1] === "1" ? !options.includes("close") : options.includes("keep-alive");
    return true;
  }

  /** Copies body bytes into slabs; false pauses the socket until the writer catches up. */
  private take(read: Uint8Array): boolean {
    // The body ends at Content-Length; bytes after it are no part of this range, and a connection
    // that sent them cannot be trusted with another.
    const bytes = read.subarray(0, this.expected - this.received);
    if (bytes.length < read.length) this.keepAlive = false;
    let offset = 0;
    while (offset < bytes.length) {
      this.current ??= this.connection.spareSlabs.pop() ?? Buffer.allocUnsafe(slabBytes);
      const copied = Math.min(bytes.length - offset, slabBytes - this.currentLength);
      this.current.set(bytes.subarray(offset, offset + copied), this.currentLength);
      this.currentLength += copied;
      offset += copied;
      if (this.currentLength === slabBytes) this.seal();
    }
    this.received += bytes.length;
    if (this.received === this.expected) {
      this.seal();
      this.ended = true;
      this.connection.onBytes = undefined;
      this.connection.onEnd = undefined;
      this.removeAbortListener();
    } else if (this.wake) {
      // The writer is waiting: give it what there is rather than wait for a full slab.
      this.seal();
    }
    this.wake?.();
    if (this.filled.length >= maxQueuedSlabs && !this.ended) {
      this.paused = true;
      this.connection.pause();
      return false;
    }
    return true;
  }

  private seal(): void {
    if (!this.current || this.currentLength === 0) return;
    this.filled.push({ slab: this.current, view: this.current.subarray(0, this.currentLength) });
    this.current = undefined;
    this.currentLength = 0;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.wake?.();
  }

  private async *body(release: (keepAlive: boolean) => void): AsyncIterable<Uint8Array[]> {
    try {
      for (;;) {
        // What the writer held is written by now: its slabs can be filled again.
        this.connection.spareSlabs.push(...this.lent);
        this.lent = [];
        // Hand over what arrived before the connection broke, too.
        if (this.filled.length === 0) this.seal();
        if (this.filled.length > 0) {
          const chunks = this.filled;
          this.filled = [];
          this.lent = chunks.map((chunk) => chunk.slab);
          if (this.paused && !this.connection.broken) {
            this.paused = false;
            this.connection.resume();
          }
          yield chunks.map((chunk) => chunk.view);
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.ended) return;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
      }
    } finally {
      if (this.ended && !this.failure) release(this.keepAlive);
      else {
        this.removeAbortListener();
        this.connection.destroy();
      }
    }
  }
}
