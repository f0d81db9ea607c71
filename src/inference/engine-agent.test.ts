import { createServer, request, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { EngineAgent } from "./engine-agent.js";

let server: Server | undefined;
let agent: EngineAgent | undefined;
afterEach(async () => {
  agent?.destroy();
  if (!server) return;
  server.closeAllConnections();
  await new Promise((resolve) => server!.close(resolve));
  server = undefined;
});

interface Engine {
  port: number;
  /** Connections accepted so far. */
  accepted: () => number;
  /** Connections open now. */
  open: () => number;
  /** For each request, how long its connection had been open when the request came (ms). */
  waited: number[];
}

/**
 * An engine that answers as llama-server answers a stream: keep-alive in its headers, and the
 * connection closed after the answer all the same.
 */
async function startStreamingEngine(): Promise<Engine> {
  const acceptedAt = new WeakMap<Socket, number>();
  const open = new Set<Socket>();
  let accepted = 0;
  const waited: number[] = [];
  server = createServer((incoming, outgoing) => {
    waited.push(performance.now() - acceptedAt.get(incoming.socket)!);
    incoming.resume();
    incoming.once("end", () => outgoing.end("data: {}\n\n", () => incoming.socket.end()));
  });
  server.on("connection", (socket: Socket) => {
    accepted++;
    acceptedAt.set(socket, performance.now());
    open.add(socket);
    socket.once("close", () => open.delete(socket));
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { port, accepted: () => accepted, open: () => open.size, waited };
}

function post(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: "127.0.0.1", port, path: "/v1/completions", method: "POST", agent },
      (answer) => {
        let body = "";
        answer.setEncoding("utf8");
        answer.on("data", (chunk: string) => (body += chunk));
        answer.on("end", () => resolve(body));
      },
    );
    outgoing.once("error", reject);
    outgoing.end("{}");
  });
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `condition` holds (a connection's events arrive a turn or two after the request's). */
async function until(condition: () => boolean): Promise<void> {
  for (let tries = 0; !condition(); tries++) {
    if (tries > 200) throw new Error("timed out");
    await settle(5);
  }
}

describe("EngineAgent", () => {
  it("opens the next connection when the engine closes one, so the next request finds it open", async () => {
    const engine = await startStreamingEngine();
    agent = new EngineAgent({ keepAlive: true });
    expect(await post(engine.port)).toBe("data: {}\n\n");
    await until(() => engine.accepted() === 2);
    await settle(50);
    expect(await post(engine.port)).toBe("data: {}\n\n");
    // The first request opened its connection; the second came on one open since the first ended.
    expect(engine.waited[0]).toBeLessThan(40);
    expect(engine.waited[1]).toBeGreaterThanOrEqual(40);
    await until(() => engine.accepted() === 3);
  });

  it("closes a connection no request came on after its lifetime, and opens no other", async () => {
    const engine = await startStreamingEngine();
    agent = new EngineAgent({ keepAlive: true, spareLifetimeMs: 100 });
    await post(engine.port);
    await until(() => engine.accepted() === 2 && engine.open() === 1);
    await until(() => engine.open() === 0);
    await settle(300);
    expect(engine.accepted()).toBe(2);
  });

  it("keeps one connection ahead per engine, however many closed", async () => {
    const engine = await startStreamingEngine();
    agent = new EngineAgent({ keepAlive: true });
    await Promise.all([post(engine.port), post(engine.port), post(engine.port)]);
    await until(() => engine.accepted() === 4);
    await settle(100);
    expect(engine.open()).toBe(1);
    expect(engine.accepted()).toBe(4);
  });

  it("fails a request to an engine that is not there, and the next one alike", async () => {
    const engine = await startStreamingEngine();
    const { port } = engine;
    server!.close();
    server = undefined;
    agent = new EngineAgent({ keepAlive: true });
    await expect(post(port)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    // The refused connection's spare is refused too, and dropped; the next request connects anew.
    await settle(50);
    await expect(post(port)).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it("closes its connections opened ahead when destroyed", async () => {
    const engine = await startStreamingEngine();
    agent = new EngineAgent({ keepAlive: true });
    await post(engine.port);
    await until(() => engine.accepted() === 2 && engine.open() === 1);
    agent.destroy();
    await until(() => engine.open() === 0);
  });
});
