import { describe, expect, it } from "vitest";
import { linkPaths } from "../fabric/link-paths.js";
import { testMachines } from "../fabric/test-interfaces.js";
import type { LinkMeasurement, PlacedInstance } from "../protocol/cluster.js";
import { NodeId } from "../protocol/ids.js";
import { linkViews, shardRpcOf } from "./link-views.js";
import { applyEvent, initialNodeState, linkKey, type NodeStateEvent } from "./node-state.js";
import { testNodeProfile } from "./test-node-profile.js";

const ids = {
  studio: NodeId.parse("10000000-0000-4000-8000-000000000000"),
  m5: NodeId.parse("20000000-0000-4000-8000-000000000000"),
  mini: NodeId.parse("30000000-0000-4000-8000-000000000000"),
};
type Name = keyof typeof ids;
const endpoint = { studio: "192.168.1.20:52416", m5: "192.168.1.31:52416", mini: "192.168.1.40:52416" };
const hello = (name: Name): NodeStateEvent => ({
  type: "hello-received",
  introduction: { id: ids[name], name, joinedAt: 1, incarnation: "1", endpoints: [endpoint[name]] },
  profile: testNodeProfile({ interfaces: testMachines[name] }),
  at: 0,
});
/** A measurement from studio over each of its paths to `to`: round trip and throughput by path kind. */
const measured = (to: Name, figures: Record<string, [number, number]>): NodeStateEvent[] =>
  linkPaths(testMachines.studio, testMachines[to], []).map((path) => ({
    type: "link-measured",
    link: {
      from: ids.studio,
      to: ids[to],
      rttMs: figures[path.kind]![0],
      throughputBytesPerSecond: figures[path.kind]![1],
      measuredAt: 5,
      path: { ...path, private: path.kind === "thunderbolt" },
    },
  }));
const split: PlacedInstance = {
  id: "big-1",
  model: "big",
  node: ids.studio,
  contextSize: 4096,
  parallel: 1,
  plan: {
    head: ids.studio,
    splitMode: "layer",
    shards: [{ node: ids.studio, layerStart: 0, layerEnd: 10, fraction: 1 }],
    rpcNodes: [ids.m5, ids.mini],
    tensorSplit: [],
    gpuLayers: 0,
    rpcTransport: "tunnel",
    rpcRoutes: [{ transport: "direct", host: "169.254.10.2" }, { transport: "tunnel" }],
  },
} as unknown as PlacedInstance;

function state(events: NodeStateEvent[]) {
  return [hello("studio"), hello("m5"), hello("mini"), ...events].reduce(
    applyEvent,
    initialNodeState(ids.studio),
  );
}

describe("linkViews", () => {
  it("gives each pair its best path's figures, every path, and what the RPC of shards on each is", () => {
    const events = [
      ...measured("m5", { wifi: [3.1, 64e6], thunderbolt: [0.02, 7e9] }),
      ...measured("mini", { wifi: [0.4, 110e6] }),
      {
        type: "desired-state-received",
        state: { epoch: 1, writtenBy: ids.studio, instances: [split], upstreams: [], routes: {} },
      },
    ] as NodeStateEvent[];
    const views = linkViews(state(events), (name) => (name === "big-1-s0" ? "rdma (active)" : undefined));
    expect(
      views.map((view) => ({
        to: view.to,
        rttMs: view.rttMs,
        paths: view.paths?.map(
          (path) => `${path.from}>${path.to} ${path.kind} ${path.best ? "best" : ""} ${path.rpc}`,
        ),
      })),
    ).toEqual([
      {
        to: ids.m5,
        rttMs: 0.02,
        paths: [
          "169.254.10.1>169.254.10.2 thunderbolt best rdma (active)",
          "192.168.1.20>192.168.1.31 wifi  null",
        ],
      },
      { to: ids.mini, rttMs: 0.4, paths: ["192.168.1.20>192.168.1.40 wifi best tunnel"] },
    ]);
  });

  it("drops a path this node forgot, and a peer's paths it no longer reports", () => {
    const events = measured("m5", { wifi: [3.1, 64e6], thunderbolt: [0.02, 7e9] });
    const cable = events
      .map((event) => (event as { link: LinkMeasurement }).link)
      .find((link) => link.path?.kind === "thunderbolt")!;
    const forgotten = state([...events, { type: "links-forgotten", keys: [linkKey(cable)] }]);
    expect(linkViews(forgotten, () => undefined).map((view) => view.paths?.map((path) => path.kind))).toEqual(
      [["wifi"]],
    );

    const fromPeer = (links: LinkMeasurement[]): NodeStateEvent => ({
      type: "heartbeat-received",
      introduction: { id: ids.m5, name: "m5", joinedAt: 1, incarnation: "1", endpoints: [endpoint.m5] },
      profile: testNodeProfile({ interfaces: testMachines.m5 }),
      links,
      instances: [],
      models: [],
      sentInFlight: new Map(),
      at: 1,
    });
    const reversed = { ...cable, from: ids.m5, to: ids.studio };
    const both = state([fromPeer([reversed, { ...reversed, path: undefined }]), fromPeer([reversed])]);
    expect([...both.links.values()].filter((link) => link.from === ids.m5).map(linkKey)).toEqual([
      linkKey(reversed),
    ]);
  });

  it("takes what a shard's connection runs on from the node serving it: a peer's heartbeat, or this node's own log", () => {
    const heartbeat: NodeStateEvent = {
      type: "heartbeat-received",
      introduction: { id: ids.m5, name: "m5", joinedAt: 1, incarnation: "1", endpoints: [endpoint.m5] },
      profile: testNodeProfile({ interfaces: testMachines.m5 }),
      links: [],
      instances: [],
      models: [],
      sentInFlight: new Map(),
      shards: [
        { name: "big-1-s0", rpc: "tcp (rdma failed: RDMA(Apple/UC) RTR failed: Operation not supported)" },
      ],
      at: 1,
    };
    const events: NodeStateEvent[] = [
      heartbeat,
      { type: "shard-started", name: "own-s0", host: "127.0.0.1" },
      { type: "shard-rpc-observed", name: "own-s0", rpc: "rdma (active)" },
    ];
    const after = state(events);
    expect(shardRpcOf(after, "big-1-s0")).toBe(
      "tcp (rdma failed: RDMA(Apple/UC) RTR failed: Operation not supported)",
    );
    expect(shardRpcOf(after, "own-s0")).toBe("rdma (active)");
    expect(shardRpcOf(after, "other-s0")).toBeUndefined();
  });
});
