import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { InstanceId } from "../protocol/ids.js";
import { forwardToEngine } from "./forward-to-engine.js";

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

/**
 * An engine that closes its idle kept-alive connections all at once: each connection answers its
 * first request, and one used again is cut without an answer (as when the engine's keep-alive
 * timeout closes it just as the client sends on it). Counts the connections requests came on
 * (herd may open one ahead of the next request, which counts once a request comes on it).
 */
async function startEngineClosingIdleConnections(): Promise<{ baseUrl: string; connections: () => number }> {
  const served = new WeakSet<Socket>();
  const carried = new Set<Socket>();
  server = createServer((request, response) => {
    carried.add(request.socket);
    if (served.has(request.socket)) {
      request.socket.destroy();
      return;
    }
    served.add(request.socket);
    request.resume();
    request.once("end", () => setTimeout(() => response.end('{"ok":true}'), 20));
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { baseUrl: `http://127.0.0.1:${port}`, connections: () => carried.size };
}

async function send(baseUrl: string): Promise<{ status: number; body: string; released: number }> {
  let released = 0;
  const response = await forwardToEngine({
    route: {
      kind: "local",
      instanceId: "m-1" as InstanceId,
      embeddings: false,
      endpoint: { baseUrl, apiKey: "key" },
      release: () => released++,
    },
    model: "m",
    path: "/v1/completions",
    body: { prompt: "hi" },
    signal: new AbortController().signal,
  });
  let body = "";
  for await (const chunk of response.body) body += chunk;
  return { status: response.status, body, released };
}

describe("forwardToEngine", () => {
  it("sends again on a new connection when every kept-alive connection was closed by the engine", async () => {
    const engine = await startEngineClosingIdleConnections();
    // Two requests at once leave two kept-alive connections in the pool.
    await Promise.all([send(engine.baseUrl), send(engine.baseUrl)]);
    expect(engine.connections()).toBe(2);
    const answer = await send(engine.baseUrl);
    expect(answer).toEqual({ status: 200, body: '{"ok":true}', released: 1 });
    // The first pooled connection was cut; the request went on a connection of its own.
    expect(engine.connections()).toBe(3);
  });

  it("sends again on a new connection when the engine closed the connection opened ahead of the request", async () => {
    // As llama-server: each connection is closed after its answer, and one that waited too long
    // for its first request is cut when the request comes (its keep-alive timeout, just then).
    const accepted = new WeakMap<Socket, number>();
    let cut = 0;
    server = createServer((request, response) => {
      if (performance.now() - accepted.get(request.socket)! > 30) {
        cut++;
        request.socket.destroy();
        return;
      }
      request.resume();
      request.once("end", () => response.end('{"ok":true}', () => request.socket.end()));
    });
    server.on("connection", (socket: Socket) => accepted.set(socket, performance.now()));
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    expect(await send(baseUrl)).toEqual({ status: 200, body: '{"ok":true}', released: 1 });
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await send(baseUrl)).toEqual({ status: 200, body: '{"ok":true}', released: 1 });
    expect(cut).toBe(1);
  });

  it("does not send on a connection that carried a stream, which the engine closes after it", async () => {
    // As llama-server: a streamed answer's connection is closed a moment after its last chunk.
    const streamed = new WeakSet<Socket>();
    let sentOnStreamed = 0;
    server = createServer((request, response) => {
      if (streamed.has(request.socket)) sentOnStreamed++;
      streamed.add(request.socket);
      request.resume();
      request.once("end", () => {
        response.writeHead(200, { "content-type": "text/event-stream" });
        response.write('data: {"ok":true}\n\n');
        response.end("data: [DONE]\n\n", () => setTimeout(() => request.socket.destroy(), 30));
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    for (let request = 0; request < 3; request++) {
      expect(await send(baseUrl)).toEqual({
        status: 200,
        body: 'data: {"ok":true}\n\ndata: [DONE]\n\n',
        released: 1,
      });
    }
    // Kept alive, each next request would go on the closing connection (and be sent again).
    expect(sentOnStreamed).toBe(0);
  });
});
