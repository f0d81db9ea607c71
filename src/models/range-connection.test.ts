import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { RangeConnections } from "./range-connection.js";

const file = randomBytes(8 * 1024 * 1024 + 12345);

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** Serves `file` with byte ranges, as a hub's CDN does; `handler` may answer instead. */
function rangeHandler(handler?: Handler): Handler {
  return (request, response) => {
    if (handler) return handler(request, response);
    const [, from, to] = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? "") ?? [];
    const start = Number(from);
    const end = Number(to) + 1;
    response.writeHead(206, {
      "content-range": `bytes ${start}-${end - 1}/${file.length}`,
      "content-length": end - start,
    });
    response.end(file.subarray(start, end));
  };
}

/** The head of a 206 for the whole file, for handlers that then send less of it than announced. */
function announceWholeFile(response: ServerResponse): void {
  response.writeHead(206, {
    "content-range": `bytes 0-${file.length - 1}/${file.length}`,
    "content-length": file.length,
  });
}

const servers: Server[] = [];
const pools: RangeConnections[] = [];
afterEach(async () => {
  for (const pool of pools.splice(0)) pool.close();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(handler?: Handler): Promise<{ url: URL; connections: () => number }> {
  const server = createServer(rangeHandler(handler));
  let connections = 0;
  server.on("connection", () => connections++);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: new URL(`http://127.0.0.1:${port}/cdn/file?signature=x`), connections: () => connections };
}

function pool(tls = {}): RangeConnections {
  const connections = new RangeConnections(tls);
  pools.push(connections);
  return connections;
}

/** Reads a body the way the writer does, each chunk used before the next is asked for, into `parts`. */
async function collect(
  body: AsyncIterable<Uint8Array[]>,
  delayMs = 0,
  parts: Buffer[] = [],
): Promise<Buffer> {
  for await (const chunks of body) {
    for (const chunk of chunks) parts.push(Buffer.from(chunk));
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
  return Buffer.concat(parts);
}

describe("RangeConnections", () => {
  it("reads ranges in order over one kept-alive connection", async () => {
    const server = await serve();
    const connections = pool();
    const signal = new AbortController().signal;
    const cuts = [0, 1, 1024 * 1024, 5_000_000, file.length];
    for (let index = 0; index + 1 < cuts.length; index++) {
      const body = await connections.fetch(server.url, cuts[index]!, cuts[index + 1]!, {}, signal);
      expect((await collect(body!)).equals(file.subarray(cuts[index], cuts[index + 1]))).toBe(true);
    }
    expect(server.connections()).toBe(1);
  });

  it("keeps every byte right when the writer is slower than the network", async () => {
    const server = await serve();
    const body = await pool().fetch(server.url, 0, file.length, {}, new AbortController().signal);
    const received = await collect(body!, 5);
    expect(createHash("sha256").update(received).digest("hex")).toBe(
      createHash("sha256").update(file).digest("hex"),
    );
  });

  it("sends the caller's headers and asks for the exact range", async () => {
    const seen: IncomingMessage["headers"][] = [];
    const server = await serve((request, response) => {
      seen.push(request.headers);
      rangeHandler()(request, response);
    });
    const body = await pool().fetch(
      server.url,
      10,
      20,
      { authorization: "Bearer t" },
      new AbortController().signal,
    );
    await collect(body!);
    expect(seen[0]).toMatchObject({ range: "bytes=10-19", authorization: "Bearer t" });
  });

  it.each<[string, Handler]>([
    ["a redirect", (_, response) => response.writeHead(302, { location: "/elsewhere" }).end()],
    ["a refusal", (_, response) => response.writeHead(403).end("expired")],
    ["the whole file", (_, response) => response.writeHead(200).end(file)],
    [
      "a chunked body",
      (_, response) => {
        response.writeHead(206, { "content-range": `bytes 0-9/${file.length}` });
        response.end(file.subarray(0, 10));
      },
    ],
    [
      "another range",
      (_, response) => {
        response.writeHead(206, { "content-range": `bytes 1-10/${file.length}`, "content-length": 10 });
        response.end(file.subarray(1, 11));
      },
    ],
  ])("leaves %s to the caller, on a connection it does not reuse", async (_, handler) => {
    const server = await serve(handler);
    const connections = pool();
    const signal = new AbortController().signal;
    expect(await connections.fetch(server.url, 0, 10, {}, signal)).toBeUndefined();
    expect(await connections.fetch(server.url, 0, 10, {}, signal)).toBeUndefined();
    expect(server.connections()).toBe(2);
  });

  it("hands over every byte that arrived before the connection broke, then throws", async () => {
    const sent = 3 * 1024 * 1024 + 7;
    const server = await serve((_, response) => {
      announceWholeFile(response);
      response.write(file.subarray(0, sent), () => response.socket?.end());
    });
    const body = await pool().fetch(server.url, 0, file.length, {}, new AbortController().signal);
    const parts: Buffer[] = [];
    await expect(collect(body!, 0, parts)).rejects.toThrow(/closed early/);
    expect(Buffer.concat(parts).equals(file.subarray(0, sent))).toBe(true);
  });

  it("hands over what arrived while the writer was busy when the connection breaks", async () => {
    const server = await serve((_, response) => {
      announceWholeFile(response);
      response.write(file.subarray(0, 1000));
      setTimeout(() => response.write(file.subarray(1000, 2000), () => response.socket?.destroy()), 50);
    });
    const body = await pool().fetch(server.url, 0, file.length, {}, new AbortController().signal);
    const parts: Buffer[] = [];
    // The writer is still busy with the first bytes when the next arrive and the connection ends.
    await expect(collect(body!, 300, parts)).rejects.toThrow(/closed early/);
    expect(Buffer.concat(parts).equals(file.subarray(0, 2000))).toBe(true);
  });

  it("does not time out a connection it paused for a slow writer", async () => {
    const server = await serve();
    const connections = new RangeConnections({}, 200);
    pools.push(connections);
    const body = await connections.fetch(server.url, 0, file.length, {}, new AbortController().signal);
    const parts: Buffer[] = [];
    let first = true;
    for await (const chunks of body!) {
      for (const chunk of chunks) parts.push(Buffer.from(chunk));
      // Long enough for the slabs to fill and the socket to stay paused past the timeout.
      if (first) await new Promise((resolve) => setTimeout(resolve, 600));
      first = false;
    }
    expect(Buffer.concat(parts).equals(file)).toBe(true);
  });

  it("reads the body to its Content-Length and does not reuse a connection that sent more", async () => {
    const server = await serve((request) => {
      // A body longer than announced, in the same write as its end.
      const head = `HTTP/1.1 206 Partial Content\r\ncontent-range: bytes 0-9/${file.length}\r\ncontent-length: 10\r\n\r\n`;
      request.socket.end(Buffer.concat([Buffer.from(head), file.subarray(0, 15)]));
    });
    const connections = pool();
    const signal = new AbortController().signal;
    expect(
      (await collect((await connections.fetch(server.url, 0, 10, {}, signal))!)).equals(file.subarray(0, 10)),
    ).toBe(true);
    await collect((await connections.fetch(server.url, 0, 10, {}, signal))!);
    expect(server.connections()).toBe(2);
  });

  it("drops an idle connection the server sent stray bytes on, without stalling the next range", async () => {
    const server = await serve((request, response) => {
      rangeHandler()(request, response);
      // After the answer, a byte nobody asked for (as a server's unprompted 408 would be).
      response.on("finish", () => setTimeout(() => request.socket.write("x"), 20));
    });
    // A stalled range would wait for this timeout, far beyond the test's own.
    const connections = new RangeConnections({}, 60_000);
    pools.push(connections);
    const signal = new AbortController().signal;
    await collect((await connections.fetch(server.url, 0, 100, {}, signal))!);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const body = await connections.fetch(server.url, 100, 200, {}, signal);
    expect((await collect(body!)).equals(file.subarray(100, 200))).toBe(true);
    expect(server.connections()).toBe(2);
  });

  it("asks again on a new connection when the kept-alive one was closed while idle", async () => {
    const server = await serve();
    const connections = pool();
    const signal = new AbortController().signal;
    await collect((await connections.fetch(server.url, 0, 100, {}, signal))!);
    // The server drops its idle connections (a keep-alive timeout), unseen by the client until it writes.
    servers[0]!.closeIdleConnections();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const body = await connections.fetch(server.url, 100, 200, {}, signal);
    expect((await collect(body!)).equals(file.subarray(100, 200))).toBe(true);
    expect(server.connections()).toBe(2);
  });

  it("gives up a connection that stops sending, after handing over what came", async () => {
    const server = await serve((_, response) => {
      announceWholeFile(response);
      response.write(file.subarray(0, 1000));
    });
    const connections = new RangeConnections({}, 200);
    pools.push(connections);
    const body = await connections.fetch(server.url, 0, file.length, {}, new AbortController().signal);
    const parts: Buffer[] = [];
    await expect(collect(body!, 0, parts)).rejects.toThrow(/no data from 127.0.0.1:\d+ for 0.2 s/);
    expect(Buffer.concat(parts).equals(file.subarray(0, 1000))).toBe(true);
  });

  it("stops with the abort's reason and closes the connection", async () => {
    let closed = false;
    const server = await serve((request, response) => {
      announceWholeFile(response);
      response.write(file.subarray(0, 1024 * 1024));
      request.socket.on("close", () => {
        closed = true;
      });
    });
    const abort = new AbortController();
    const body = await pool().fetch(server.url, 0, file.length, {}, abort.signal);
    const reading = (async () => {
      for await (const _ of body!) abort.abort(new Error("stopped by the user"));
    })();
    await expect(reading).rejects.toThrow("stopped by the user");
    await expect.poll(() => closed).toBe(true);
  });

  it("reads over TLS with a pre-shared key, as copies between nodes do", async () => {
    const key = randomBytes(32);
    const tls = {
      ciphers: "PSK-AES256-GCM-SHA384",
      minVersion: "TLSv1.2",
      maxVersion: "TLSv1.2",
    } as const;
    const server = createHttpsServer({ ...tls, pskCallback: () => key }, rangeHandler());
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const connections = pool({
      ...tls,
      pskCallback: () => ({ psk: key, identity: "test" }),
      checkServerIdentity: () => undefined,
    });
    const url = new URL(`https://127.0.0.1:${port}/file`);
    const body = await connections.fetch(url, 1000, 2_001_000, {}, new AbortController().signal);
    expect((await collect(body!)).equals(file.subarray(1000, 2_001_000))).toBe(true);
  });
});
