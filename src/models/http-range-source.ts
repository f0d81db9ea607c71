import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { ConnectionOptions } from "node:tls";
import { HubError } from "../protocol/errors.js";
import { PermanentDownloadError, type RangeSource } from "./download-file.js";
import { idleTimeoutMs, RangeConnections } from "./range-connection.js";

export interface HttpRangeSourceOptions {
  url: string;
  /** Sent to `url`'s host only: a redirect to another host (a CDN's signed link) gets none. */
  headers?: Record<string, string>;
  /** Extra request options, e.g. TLS settings of the cluster channel. */
  requestOptions?: RequestOptions & ConnectionOptions;
  /** Turns a refusal (401, 403, 404, ...) into the error the user should read. */
  refusal?: (status: number, response: IncomingMessage) => Error;
}

const maxRedirects = 5;

/**
 * Byte ranges of a file over HTTP(S): `Range` requests answered with 206, following redirects (the
 * hub sends each file to a CDN) and remembering where they led, so only the first range pays for
 * the redirect. A remembered link that stops working (signed links expire) is resolved again.
 * Ranges of the remembered address are read by `RangeConnections`, which reuses its memory.
 */
export function httpRangeSource(options: HttpRangeSourceOptions): RangeSource & { close(): void } {
  const agents = {
    "http:": new HttpAgent({ keepAlive: true, maxSockets: 16 }),
    "https:": new HttpsAgent({ keepAlive: true, maxSockets: 16 }),
  };
  // Ranges of the address the redirects led to are read over connections that reuse their memory.
  const connections = new RangeConnections(options.requestOptions);
  let resolved: string | undefined;
  const origin = new URL(options.url).origin;
  const headersFor = (target: URL) => (target.origin === origin ? (options.headers ?? {}) : {});

  const get = (url: string, start: number, end: number, signal: AbortSignal): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      const send = target.protocol === "https:" ? httpsRequest : httpRequest;
      const outgoing = send(
        target,
        {
          method: "GET",
          agent: agents[target.protocol as "http:" | "https:"],
          signal,
          ...options.requestOptions,
          headers: {
            ...headersFor(target),
            range: `bytes=${start}-${end - 1}`,
            "accept-encoding": "identity",
          },
        },
        resolve,
      );
      outgoing.setTimeout(idleTimeoutMs, () =>
        outgoing.destroy(new Error(`no data from ${target.host} for ${idleTimeoutMs / 1000} s`)),
      );
      outgoing.on("error", reject);
      outgoing.end();
    });

  const open = async (
    start: number,
    end: number,
    signal: AbortSignal,
    fresh = false,
  ): Promise<AsyncIterable<Uint8Array | Uint8Array[]>> => {
    if (!fresh && resolved) {
      const target = new URL(resolved);
      const body = await connections.fetch(target, start, end, headersFor(target), signal);
      if (body) return body;
      // Not the plain 206 (an expired link, a refusal, ...): Node's client reads every other answer.
    }
    let url = (!fresh && resolved) || options.url;
    for (let redirects = 0; ; redirects++) {
      const response = await get(url, start, end, signal);
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400 && response.headers.location) {
        response.resume();
        if (redirects >= maxRedirects) throw new PermanentDownloadError(`${options.url}: too many redirects`);
        url = new URL(response.headers.location, url).toString();
        continue;
      }
      if (status === 206) {
        const range = /^bytes (\d+)-(\d+)\//.exec(response.headers["content-range"] ?? "");
        if (!range || Number(range[1]) !== start || Number(range[2]) !== end - 1) {
          response.destroy();
          throw new PermanentDownloadError(
            `${options.url}: asked for bytes ${start}-${end - 1}, got '${response.headers["content-range"]}'`,
          );
        }
        resolved = url;
        return receive(response);
      }
      if (status === 200 && start === 0 && Number(response.headers["content-length"]) === end) {
        resolved = url;
        return receive(response);
      }
      response.resume();
      if (url !== options.url && !fresh && [401, 403, 404, 410].includes(status)) {
        // The remembered link expired: go through the original address again.
        return open(start, end, signal, true);
      }
      if (status === 200)
        throw new PermanentDownloadError(`${url} does not serve byte ranges, so downloads cannot resume`);
      if (status === 429 || status >= 500) throw new Error(`${new URL(url).host} answered ${status}`);
      throw options.refusal?.(status, response) ?? new HubError(`${url} answered ${status}`, status);
    }
  };

  return {
    open: (start, end, signal) => open(start, end, signal),
    close() {
      connections.close();
      agents["http:"].destroy();
      agents["https:"].destroy();
    },
  };
}

/**
 * Bytes queued ahead of the writer before the socket is paused (then the kernel holds the rest).
 * Kept small, so received buffers are written and dropped while young: with 16 MiB per connection,
 * four connections kept about 64 MiB of buffers alive and a 2 GiB download took 7.5-7.9 s and 11-12 s
 * of CPU; with 1 MiB, 5.6-5.7 s and 8 s (4 MiB was as slow as 16, 256 KiB in between).
 */
const queueLimitBytes = 1024 * 1024;

/**
 * A response body as an async iterable that hands over every byte that arrived before the
 * connection broke, then throws. (Iterating the response directly drops what Node had buffered when
 * the connection resets, and those bytes would be fetched twice on resume.)
 */
export function receive(response: IncomingMessage): AsyncIterable<Uint8Array | Uint8Array[]> {
  const queue: Buffer[] = [];
  let queued = 0;
  let failure: Error | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  response.on("data", (chunk: Buffer) => {
    queue.push(chunk);
    queued += chunk.length;
    if (queued >= queueLimitBytes) response.pause();
    wake?.();
  });
  response.on("end", () => {
    ended = true;
    wake?.();
  });
  response.on("error", (error) => {
    failure ??= error;
    wake?.();
  });
  response.on("close", () => {
    if (!response.complete) failure ??= new Error("the connection closed early");
    wake?.();
  });
  return {
    async *[Symbol.asyncIterator]() {
      try {
        for (;;) {
          if (queue.length > 0) {
            // What queued up while the writer was busy is written with one call.
            const chunks = queue.splice(0, queue.length);
            queued = 0;
            if (response.isPaused()) response.resume();
            yield chunks.length === 1 ? chunks[0]! : chunks;
            continue;
          }
          if (failure) throw failure;
          if (ended) return;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
      } finally {
        // A reader that stops early (an abort) releases the connection.
        if (!ended) response.destroy();
      }
    },
  };
}
