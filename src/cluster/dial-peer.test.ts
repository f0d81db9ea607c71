import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findFreePort } from "../util/free-port.js";
import { channelRequest } from "./channel-request.js";
import { clusterServerTlsOptions } from "./secure-channel.js";

const key = randomBytes(32);
let server: Server;
let good: string;
let closed: string;
let wrongKey: Server;
let wrongKeyEndpoint: string;

function listen(tlsKey: Buffer): Promise<{ server: Server; endpoint: string }> {
  const peer = createServer(clusterServerTlsOptions(tlsKey), (request, response) => {
    response.writeHead(request.url === "/missing" ? 404 : 200, { "content-type": "application/json" });
    response.end(
      JSON.stringify(request.url === "/missing" ? { error: { message: "no such thing" } } : { ok: true }),
    );
  });
  return new Promise((resolve) =>
    peer.listen(0, "127.0.0.1", () =>
      resolve({ server: peer, endpoint: `127.0.0.1:${(peer.address() as AddressInfo).port}` }),
    ),
  );
}

beforeAll(async () => {
  ({ server, endpoint: good } = await listen(key));
  ({ server: wrongKey, endpoint: wrongKeyEndpoint } = await listen(randomBytes(32)));
  closed = `127.0.0.1:${await findFreePort()}`;
});

afterAll(() => {
  server.close();
  wrongKey.close();
});

describe("a request to a peer tries each of its addresses", () => {
  it.each([
    { situation: "its only address answers", endpoints: () => [good] },
    { situation: "its first address is down, the second answers", endpoints: () => [closed, good] },
    { situation: "its first address is not host:port", endpoints: () => ["not-an-address", good] },
    {
      situation: "its first address is another cluster's node",
      endpoints: () => [wrongKeyEndpoint, good],
    },
  ])("answers when $situation", async ({ endpoints }) => {
    const answer = await channelRequest({
      endpoints: endpoints(),
      method: "GET",
      path: "/",
      key,
      selfId: "a",
    });
    expect(answer).toMatchObject({ status: 200, body: '{"ok":true}' });
  });

  it.each([
    { situation: "it lists no address", endpoints: () => [], error: /the peer has no address/ },
    { situation: "its only address is down", endpoints: () => [closed], error: /ECONNREFUSED/ },
    {
      situation: "every address is down, the last malformed",
      endpoints: () => [closed, "nowhere"],
      error: /'nowhere' is not host:port/,
    },
  ])("fails with the last reason when $situation", async ({ endpoints, error }) => {
    await expect(
      channelRequest({ endpoints: endpoints(), method: "GET", path: "/", key, selfId: "a" }),
    ).rejects.toThrow(error);
  });

  it("reads a peer's error message from its JSON body", async () => {
    const answer = await channelRequest({
      endpoints: [good],
      method: "GET",
      path: "/missing",
      key,
      selfId: "a",
    });
    expect(answer).toMatchObject({ status: 404, message: "no such thing" });
  });
});
