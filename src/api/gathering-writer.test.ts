import { randomBytes } from "node:crypto";
import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer, get as getTls } from "node:https";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { clusterClientTlsOptions, clusterServerTlsOptions } from "../cluster/secure-channel.js";
import { GatheringWriter } from "./gathering-writer.js";

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** One chunk an engine sends, after `pauseMs` (0: at once, in the same turn as the one before). */
interface Step {
  text: string;
  pauseMs: number;
}

interface Run {
  /** What the client read, and when (ms from the request), one entry per `data` event. */
  received: Array<{ text: string; at: number }>;
  /** In how many turns of its event loop the node's side read the engine's connection (its wakes). */
  engineReads: number;
  /** When (ms from the request) the engine sent each chunk. */
  sentAt: number[];
}

/**
 * An engine that streams `steps`, and a node in front of it that passes its stream on through a
 * GatheringWriter, as the API does; a client reads it. `tls`: the engine's side is a node of the
 * cluster, reached over the channel's TLS (a request forwarded to the node that heads the model).
 */
async function streamThrough(
  steps: Step[],
  windowMs: number,
  { holdSource = true, tls = false }: { holdSource?: boolean; tls?: boolean } = {},
): Promise<Run> {
  const sentAt: number[] = [];
  let startedAt = 0;
  const clusterKey = randomBytes(32);
  const engineServer = tls ? createTlsServer(clusterServerTlsOptions(clusterKey)) : createServer();
  const enginePort = await listen(
    engineServer.on("request", async (_incoming: IncomingMessage, outgoing: ServerResponse) => {
      outgoing.writeHead(200, { "content-type": "text/event-stream" });
      outgoing.flushHeaders();
      for (const step of steps) {
        if (step.pauseMs > 0) await sleep(step.pauseMs);
        outgoing.write(step.text);
        sentAt.push(performance.now() - startedAt);
      }
      outgoing.end();
    }),
  );
  let engineReads = 0;
  let readThisTurn = false;
  const engineUrl = `${tls ? "https" : "http"}://127.0.0.1:${enginePort}/`;
  const engineGet = tls ? getTls : get;
  // A connection of its own each time (no agent): TLS with the cluster's key, as nodes dial each other.
  const engineOptions = tls ? { ...clusterClientTlsOptions(clusterKey, "node"), agent: false } : {};
  const nodePort = await listen(
    createServer((_incoming, outgoing) => {
      engineGet(engineUrl, engineOptions, (upstream) => {
        outgoing.writeHead(200, { "content-type": "text/event-stream" });
        outgoing.flushHeaders();
        const writer = new GatheringWriter(outgoing, windowMs, holdSource ? () => upstream : undefined);
        upstream.socket.on("data", () => {
          if (readThisTurn) return;
          readThisTurn = true;
          engineReads += 1;
          setImmediate(() => {
            readThisTurn = false;
          });
        });
        upstream.on("data", (chunk: Buffer) => writer.write(chunk));
        upstream.once("end", () => writer.end());
      });
    }),
  );
  startedAt = performance.now();
  return { received: await readAll(nodePort), engineReads, sentAt };
}

/** A client's request to a local server: what it read, and when (ms from the request), per `data` event. */
async function readAll(port: number): Promise<Run["received"]> {
  const received: Run["received"] = [];
  const startedAt = performance.now();
  await new Promise<void>((resolve, reject) => {
    get(`http://127.0.0.1:${port}/`, (response) => {
      response.setEncoding("utf8");
      response.on("data", (text: string) => received.push({ text, at: performance.now() - startedAt }));
      response.once("end", resolve);
    }).once("error", reject);
  });
  return received;
}

const tokens = (count: number, pauseMs: number): Step[] =>
  Array.from({ length: count }, (_, index) => ({ text: `data: ${index}\n\n`, pauseMs }));
const joined = (steps: Step[]) => steps.map((step) => step.text).join("");
const whole = (run: Run) => run.received.map((entry) => entry.text).join("");
/** The windows the engine's sending spanned: the writer writes at most once in each, and once at first. */
const windowsSpanned = (run: Run, windowMs: number) =>
  Math.ceil((run.sentAt.at(-1)! - run.sentAt[0]!) / windowMs) + 1;

describe("GatheringWriter", () => {
  it("writes a chunk that comes alone at once", async () => {
    const run = await streamThrough(
      [
        { text: "data: first\n\n", pauseMs: 0 },
        { text: "data: second\n\n", pauseMs: 400 },
      ],
      100,
    );
    expect(whole(run)).toBe("data: first\n\ndata: second\n\n");
    // The first token is not held for the window, nor until the next one.
    expect(run.received[0]!.text).toBe("data: first\n\n");
    expect(run.received[0]!.at).toBeLessThan(run.sentAt[1]!);
  });

  it("gathers chunks that come faster than the window into few writes, in order", async () => {
    const run = await streamThrough(tokens(40, 1), 50);
    expect(whole(run)).toBe(joined(tokens(40, 1)));
    // The first two at once, then one write per 50 ms window (40 tokens take 40-80 ms on an idle machine).
    expect(run.received.length).toBeLessThanOrEqual(windowsSpanned(run, 50) + 2);
  });

  it("sends what a window gathered in one write, with what was read when it ended", async () => {
    // 0 and 1 leave at once. A token every 20 ms fills the first window (the engine is read as they
    // come) and runs on into the second, where the engine's connection is not read; a burst comes
    // in it. What the second window read when it ended leaves with the token that started it, in
    // one write, with the engine's end: read again without writing it, it would wait a third window.
    const steps: Step[] = [
      { text: "data: 0\n\n", pauseMs: 0 },
      { text: "data: 1\n\n", pauseMs: 1 },
      ...Array.from({ length: 35 }, (_, index) => ({ text: `data: ${index + 2}\n\n`, pauseMs: 20 })),
      ...Array.from({ length: 25 }, (_, index) => ({ text: `data: burst ${index}\n\n`, pauseMs: 1 })),
    ];
    const run = await streamThrough(steps, 600);
    expect(whole(run)).toBe(joined(steps));
    // The first two reads at once (0 and 1, or both in one and 2 in the other), then one per window.
    expect(run.received).toHaveLength(4);
  });

  it("writes a stream's second chunk at once too, whose first may carry no text", async () => {
    // A chat's first chunk can be the role alone, an Anthropic stream's first its message_start:
    // the first text comes next, however soon.
    const run = await streamThrough(
      [{ text: "data: role\n\n", pauseMs: 0 }, { text: "data: text\n\n", pauseMs: 20 }, ...tokens(5, 20)],
      400,
    );
    expect(run.received.map((entry) => entry.text).slice(0, 2)).toEqual(["data: role\n\n", "data: text\n\n"]);
    expect(run.received[1]!.at).toBeLessThan(run.sentAt[1]! + 200);
    // The tokens after it are gathered, and leave in one write when the reply ends within the window.
    expect(run.received.slice(2).map((entry) => entry.text)).toEqual([joined(tokens(5, 20))]);
  });

  it("ends a reply that ends within its first window as the engine ends it", async () => {
    // A short reply's end is not held in the kernel until the window is over: the engine is read
    // as it sends in the first window (a long reply's later windows are not, see below).
    const run = await streamThrough(tokens(12, 2), 600);
    expect(whole(run)).toBe(joined(tokens(12, 2)));
    expect(run.received.at(-1)!.at).toBeLessThan(run.sentAt.at(-1)! + 300);
  });

  it("writes what a turn writes after a chunk that goes at once with it", async () => {
    // An adapter writes a token's events one by one: each token's arrive in one turn.
    let writes = 0;
    const port = await listen(
      createServer(async (_incoming, outgoing) => {
        outgoing.writeHead(200, { "content-type": "text/event-stream" });
        outgoing.flushHeaders();
        const write = outgoing.write.bind(outgoing);
        outgoing.write = ((...args: Parameters<typeof write>) => {
          writes += 1;
          return write(...args);
        }) as typeof outgoing.write;
        const writer = new GatheringWriter(outgoing, 400);
        writer.write("event: message_start\n\n");
        writer.write("event: ping\n\n");
        await sleep(3);
        writer.write("event: content_block_start\n\n");
        writer.write("event: content_block_delta\n\n");
        await sleep(500);
        writer.end();
      }),
    );
    const received = await readAll(port);
    expect(writes).toBe(2);
    expect(received.map((entry) => entry.text)).toEqual([
      "event: message_start\n\nevent: ping\n\n",
      "event: content_block_start\n\nevent: content_block_delta\n\n",
    ]);
    // The first text is not held for the window.
    expect(received[1]!.at).toBeLessThan(200);
  });

  it("writes each chunk as it comes with a window of 0", async () => {
    const run = await streamThrough(tokens(40, 1), 0);
    expect(whole(run)).toBe(joined(tokens(40, 1)));
    // Each write is an HTTP chunk of its own, which the client's parser hands out on its own.
    expect(run.received.length).toBeGreaterThanOrEqual(40);
  });

  it("writes each chunk of a stream slower than half the window at once", async () => {
    const run = await streamThrough(tokens(5, 150), 100);
    expect(run.received.map((entry) => entry.text)).toEqual(tokens(5, 150).map((step) => step.text));
  });

  it("sends gathered chunks when the window ends, not when the stream does", async () => {
    const run = await streamThrough([...tokens(10, 1), { text: "data: late\n\n", pauseMs: 600 }], 50);
    const late = run.received.findIndex((entry) => entry.text.includes("late"));
    const beforeLate = run.received
      .slice(0, late)
      .map((entry) => entry.text)
      .join("");
    expect(beforeLate).toBe(joined(tokens(10, 1)));
    // All ten left within a window or two of the tenth, long before the late one was sent.
    expect(run.received[late - 1]!.at).toBeLessThan(run.sentAt[10]! - 300);
  });

  it.each([
    { over: "plain TCP (the engine on this node)", tls: false },
    { over: "the cluster's TLS channel (a request forwarded to the node that heads the model)", tls: true },
  ])("stops reading the engine while chunks wait, from the second window, over $over", async ({ tls }) => {
    const held = await streamThrough(tokens(120, 1), 20, { tls });
    const notHeld = await streamThrough(tokens(120, 1), 20, { tls, holdSource: false });
    expect(whole(held)).toBe(joined(tokens(120, 1)));
    expect(whole(notHeld)).toBe(whole(held));
    // Held: a read per token until the first window ends (it begins with the third), then the token
    // that starts each window and one read when it ends. Not held: a read per token, less those the
    // kernel joined while the node was busy.
    const firstWindow = held.sentAt.filter((at) => at <= held.sentAt[2]! + 20).length;
    expect(held.engineReads).toBeLessThanOrEqual(firstWindow + 2 * windowsSpanned(held, 20) + 1);
    expect(held.engineReads).toBeLessThan(notHeld.engineReads);
  });
});

describe("GatheringWriter and a client that does not read", () => {
  it("asks the writer to wait for drain while the client is behind, for gathered chunks too", async () => {
    let results: { written: boolean; gathered: boolean } | undefined;
    const port = await listen(
      createServer((_incoming, outgoing) => {
        outgoing.writeHead(200, { "content-type": "text/event-stream" });
        outgoing.flushHeaders();
        const writer = new GatheringWriter(outgoing, 1_000);
        const block = Buffer.alloc(64 * 1024, 97);
        // Fill the socket until it is behind (the client reads nothing), then gather one more chunk.
        let written = true;
        for (let count = 0; written && count < 2_000; count++) written = writer.write(block);
        results = { written, gathered: writer.write("data: 1\n\n") };
        outgoing.destroy();
      }),
    );
    await new Promise<void>((resolve) => {
      const request = get(`http://127.0.0.1:${port}/`, (response) => {
        response.pause();
        response.once("close", resolve);
      });
      request.once("error", () => resolve());
    });
    expect(results).toEqual({ written: false, gathered: false });
  });
});
