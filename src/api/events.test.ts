import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { NodeEvent } from "../protocol/events.js";
import { decodeServerSentEvents } from "../util/sse.js";
import { createTestApp, type TestApp } from "./test-app.js";

let testApp: TestApp;

beforeEach(async () => {
  testApp = await createTestApp();
});

afterEach(async () => {
  await testApp.dispose();
});

/** `GET /herd/v1/events` as a client reads it: each event, as it arrives. */
async function follow(signal: AbortSignal): Promise<AsyncIterator<NodeEvent>> {
  const response = await testApp.app.request("/herd/v1/events", { signal });
  expect(response.status).toBe(200);
  const events = decodeServerSentEvents(response.body as unknown as AsyncIterable<Uint8Array>);
  return (async function* () {
    for await (const event of events) if (event.event === "event") yield JSON.parse(event.data) as NodeEvent;
  })();
}

function send(method: "POST" | "PUT" | "DELETE", path: string, body?: unknown) {
  return testApp.app.request(path, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
}

describe("GET /herd/v1/events", () => {
  it("tells each change to the desired state as it is applied, with what changed", async () => {
    const stop = new AbortController();
    const events = await follow(stop.signal);
    const upstream = {
      name: "cloud",
      url: "https://llm.example.com/v1",
      models: [{ name: "big", upstreamName: "big-2" }],
    };
    expect((await send("POST", "/herd/v1/upstreams", upstream)).status).toBe(201);
    expect((await send("PUT", "/herd/v1/routes/big", { route: "upstream" })).status).toBe(200);
    expect((await send("DELETE", "/herd/v1/upstreams/cloud")).status).toBe(200);
    const seen: NodeEvent[] = [];
    while (seen.length < 6) seen.push((await events.next()).value);
    stop.abort();
    expect(seen).toEqual([
      {
        type: "upstream-registered",
        epoch: 1,
        name: "cloud",
        url: "https://llm.example.com/v1",
        models: ["big"],
      },
      { type: "desired-state-changed", epoch: 1, writtenBy: "node-under-test" },
      { type: "routes-set", epoch: 2, routes: { big: "upstream" } },
      { type: "desired-state-changed", epoch: 2, writtenBy: "node-under-test" },
      { type: "upstream-removed", epoch: 3, name: "cloud" },
      { type: "desired-state-changed", epoch: 3, writtenBy: "node-under-test" },
    ]);
  });

  it("tells nothing of a change that was refused", async () => {
    const response = await send("DELETE", "/herd/v1/upstreams/nowhere");
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { message: "no upstream named 'nowhere'" } });
    expect(testApp.events).toEqual([]);
  });
});
