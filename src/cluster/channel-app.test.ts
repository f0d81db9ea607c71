import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mapError } from "../api/error-mapping.js";
import type { NodeEvent } from "../protocol/events.js";
import { NodeId } from "../protocol/ids.js";
import { findFreePort } from "../util/free-port.js";
import { createLogger } from "../util/logger.js";
import { ApiKeyStore } from "./api-key-store.js";
import { channelRequest, readBody } from "./channel-request.js";
import { ClusterNode } from "./cluster-node.js";
import { DesiredStateStore } from "./desired-state-store.js";
import { requestPeerAt } from "./dial-peer.js";
import { measureThroughput } from "./link-prober.js";
import { createNodeStore } from "./node-state.js";
import { clusterClientTlsOptions } from "./secure-channel.js";
import { testNodeProfile } from "./test-node-profile.js";

const id = NodeId.parse("0b6f3c9e-3d1a-4d53-9a53-8f0f4f0a1b2c");
const key = randomBytes(32);
const profile = testNodeProfile();
const instance = {
  id: "m-1",
  model: "m",
  contextSize: 512,
  parallel: 1,
  embeddings: false,
  createdAt: "2024-01-01T00:00:00.000Z",
  node: id,
};

let home: string;
let node: ClusterNode;
const published: NodeEvent[] = [];
let endpoint: string;

/** A peer's request to the node's cluster channel, as it goes over the wire. */
function ask(method: "GET" | "POST", path: string, body?: unknown) {
  return channelRequest({ endpoints: [endpoint], method, path, body, key, selfId: "peer" });
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "herd-channel-"));
  const port = await findFreePort();
  endpoint = `127.0.0.1:${port}`;
  const desired = new DesiredStateStore(home);
  const desiredAtStart = await desired.load();
  node = new ClusterNode({
    id,
    name: "alone",
    key,
    host: "127.0.0.1",
    port,
    advertise: [endpoint],
    peers: [],
    desired,
    store: createNodeStore(id, desiredAtStart),
    apiKeys: await new ApiKeyStore(home).load(),
    profile: () => profile,
    instances: () => [],
    models: () => [],
    rpcServers: (name) => (name === "m-1-0" ? { host: "127.0.0.1", port: 50052 } : undefined),
    mapError,
    logger: createLogger({ level: "silent" }),
    publish: (event) => published.push(event),
  });
  await node.start();
});

afterAll(async () => {
  await node.dispose();
  await rm(home, { recursive: true, force: true });
});

describe("the cluster channel, as a peer meets it", () => {
  // In order: each row's change is made to the desired state the rows before left.
  it.each([
    {
      situation: "a peer asks the coordinator to load an instance",
      body: { type: "instance-placed", instance, cause: "load" },
      status: 200,
      answer: /"epoch":1/,
    },
    {
      situation: "a second peer asks to load the same instance",
      body: { type: "instance-placed", instance, cause: "replica" },
      status: 409,
      answer: /instance m-1 already exists/,
    },
    {
      situation: "a peer unloads a model that is not loaded",
      body: { type: "instances-removed", match: "other", reason: "unloaded" },
      status: 404,
      answer: /no instance of 'other' is loaded/,
    },
    {
      situation: "a peer sends a change of an unknown kind",
      body: { type: "rebooted" },
      status: 400,
      answer: /'type'/,
    },
    {
      situation: "a peer sends a body that is not JSON",
      body: "{not json",
      status: 400,
      answer: /not JSON/,
    },
    {
      situation: "a peer unloads the instance",
      body: { type: "instances-removed", match: "m", reason: "unloaded" },
      status: 200,
      answer: /"epoch":2,.*"instances":\[\]/,
    },
  ])("answers $status when $situation", async ({ body, status, answer }) => {
    const reply = await (typeof body === "string"
      ? rawPost("/cluster/v1/desired-changes", body)
      : ask("POST", "/cluster/v1/desired-changes", body));
    expect(reply.status).toBe(status);
    expect(status === 200 ? reply.body : reply.message).toMatch(answer);
  });

  it("publishes each change it applied for a peer, with what changed, and none it refused", () => {
    expect(
      published.filter((event) => event.type !== "node-joined" && event.type !== "coordinator-changed"),
    ).toEqual([
      {
        type: "instance-placed",
        epoch: 1,
        instanceId: "m-1",
        model: "m",
        head: id,
        nodes: [id],
        cause: "load",
      },
      { type: "desired-state-changed", epoch: 1, writtenBy: id },
      {
        type: "instances-removed",
        epoch: 2,
        instances: [{ instanceId: "m-1", model: "m" }],
        reason: "unloaded",
      },
      { type: "desired-state-changed", epoch: 2, writtenBy: id },
    ]);
  });

  it.each([
    {
      situation: "its RPC server is listening",
      name: "m-1-0",
      status: 200,
      body: '{"host":"127.0.0.1","port":50052}',
    },
    {
      situation: "its RPC server is not ready",
      name: "m-2-0",
      status: 503,
      body: '{"error":{"message":"not ready"}}',
    },
  ])("tells a head where a shard's RPC server is when $situation", async ({ name, status, body }) => {
    const reply = await ask("GET", `/cluster/v1/rpc-servers/${name}`);
    expect(reply).toMatchObject({ status, body });
  });

  it("answers 404 with the route it does not know", async () => {
    const reply = await ask("GET", "/cluster/v1/nothing");
    expect(reply).toMatchObject({ status: 404, message: "no cluster route GET /cluster/v1/nothing" });
  });

  it("measures a link with as many bytes as asked", async () => {
    const reply = await ask("GET", "/cluster/v1/bulk?bytes=100000");
    expect(reply.status).toBe(200);
    expect(reply.body.length).toBe(100_000);
  });

  it("serves a throughput probe, timed from its first bytes", async () => {
    const [host, port] = endpoint.split(":");
    const bytesPerSecond = await measureThroughput(
      { host: host!, port: Number(port) },
      key,
      NodeId.parse("1b6f3c9e-3d1a-4d53-9a53-8f0f4f0a1b2d"),
    );
    expect(bytesPerSecond).toBeGreaterThan(0);
    expect(Number.isFinite(bytesPerSecond)).toBe(true);
  });
});

/** A POST whose body is sent as it is, not as JSON. */
async function rawPost(path: string, body: string) {
  const [host, port] = endpoint.split(":");
  const response = await requestPeerAt(
    { host: host!, port: Number(port), endpoint },
    { path, method: "POST", agent: false, tls: clusterClientTlsOptions(key, "peer"), body },
  );
  const text = await readBody(response, 1 << 20);
  return { status: response.statusCode, body: text, message: JSON.parse(text).error.message as string };
}
