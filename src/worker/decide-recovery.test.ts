import { describe, expect, it } from "vitest";
import { testInterface } from "../fabric/test-interfaces.js";
import {
  type ClusterView,
  InstanceSummary,
  type MemberState,
  type NodeProfile,
  PlacedInstance,
} from "../protocol/cluster.js";
import { assertNever } from "../protocol/events.js";
import type { NodeId } from "../protocol/ids.js";
import type { NetworkInterface } from "../protocol/network-interface.js";
import { decideRecovery, type RecoveryDecision } from "./decide-recovery.js";

type Name = "a" | "b" | "c";
const id = (name: Name) => `node-${name}` as NodeId;
const gigabyte = 1024 ** 3;

const profile = (memoryAvailableBytes: number): NodeProfile => ({
  os: "linux",
  platform: "linux",
  arch: "x64",
  cpuModel: "cpu",
  cpuCores: 4,
  memoryTotalBytes: 8 * gigabyte,
  memoryAvailableBytes,
  machineMemoryBytes: 8 * gigabyte,
  memoryLimited: false,
  devices: [],
  engine: { version: "1", backend: "cpu", rpc: true, rdma: false },
  addresses: [],
  apiPort: 52415,
  clusterPort: 52416,
  herdVersion: "0.1.0",
});

/** A model of 3 GiB: one node of 4 GiB free holds it, one of 2 GiB does not. */
const instance = (name: string, head: Name, shards: Name[], extra: Partial<PlacedInstance> = {}) =>
  PlacedInstance.parse({
    id: name,
    model: "m",
    contextSize: 256,
    parallel: 1,
    embeddings: false,
    createdAt: "2026-01-01T00:00:00Z",
    node: id(head),
    plan: {
      head: id(head),
      splitMode: shards.length > 1 ? "layer" : "none",
      shards: shards.map((shard, index) => ({
        node: id(shard),
        layerStart: index * 10,
        layerEnd: (index + 1) * 10,
        fraction: 1 / shards.length,
      })),
    },
    basis: {
      model: {
        name: "m",
        sizeBytes: 3 * gigabyte,
        architecture: "llama",
        layerCount: 20,
        bytesPerLayer: 0.14 * gigabyte,
        nonLayerBytes: 0.2 * gigabyte,
        kvBytesPerToken: 1024,
        embeddingLength: 2048,
      },
    },
    ...extra,
  });

interface Situation {
  /** Each node's membership state and free memory in GiB. */
  nodes: Partial<Record<Name, [MemberState, number]>>;
  instances: PlacedInstance[];
  /** What each instance's head reports of it. */
  reported?: Array<[string, InstanceSummary["state"], number?]>;
  /** Nodes whose store holds the model file. */
  holders?: Name[];
  lastTried?: Array<[string, number]>;
  /** How long ago the deciding node started. Default: long ago. */
  startedSecondsAgo?: number;
  /** Each node's network interfaces (none reported when absent). */
  interfaces?: Partial<Record<Name, NetworkInterface[]>>;
}

const now = Date.parse("2026-01-01T00:10:00Z");
const secondsAgo = (seconds: number) => new Date(now - seconds * 1000).toISOString();

function decide(situation: Situation): string[] {
  const names = Object.keys(situation.nodes) as Name[];
  const view: ClusterView = {
    self: id("a"),
    coordinator: id("a"),
    epoch: 1,
    nodes: names.map((name) => {
      const [state, free] = situation.nodes[name]!;
      return {
        id: id(name),
        name,
        state,
        role: "member" as const,
        joinedAt: 0,
        lastSeenMsAgo: 0,
        endpoints: [],
        profile: { ...profile(free * gigabyte), interfaces: situation.interfaces?.[name] },
      };
    }),
    links: [],
    desired: { epoch: 1, writtenBy: id("a"), instances: situation.instances, upstreams: [], routes: {} },
    instances: (situation.reported ?? []).map(([instanceId, state, inFlight]) =>
      InstanceSummary.parse({
        id: instanceId,
        model: "m",
        node: id("a"),
        state,
        reason: "",
        since: "",
        inFlight,
      }),
    ),
  };
  const holders = (situation.holders ?? names).map(id);
  const alive = (node: NodeId) => view.nodes.find((member) => member.id === node)?.state === "alive";
  const decision = decideRecovery(
    {
      view,
      nodesHolding: () => holders.filter(alive),
      lastTried: new Map(situation.lastTried ?? []),
      drainTimeoutMs: 600_000,
      startedAt: now - (situation.startedSecondsAgo ?? 3600) * 1000,
    },
    now,
  );
  return told(decision);
}

/** A decision as the coordinator's log tells it: each change, then each instance kept as it is. */
function told({ changes, kept }: RecoveryDecision): string[] {
  const short = (node: string) => node.replace("node-", "");
  return [
    ...changes.map((change) => {
      switch (change.type) {
        case "instances-removed":
          return `unload ${change.match}${change.reason === "drained" ? "" : " (timed out)"}`;
        case "instance-replanned":
          return `place ${change.instanceId} on ${change.plan.shards.map((shard) => short(shard.node)).join("+")} headed by ${short(change.node)}${change.reason ? ` (${change.reason})` : ""}`;
        case "instance-suspended":
          return `suspend ${change.instanceId}: ${change.reason.replace(/:.*/s, "")}`;
        default:
          return assertNever(change);
      }
    }),
    ...kept.map(
      ({ instanceId, waitingFor }) =>
        `keep ${instanceId}${waitingFor.length > 0 ? ` until ${waitingFor.map(short).join(", ")} returns or is gone` : ""}`,
    ),
  ];
}

describe("decideRecovery", () => {
  it.each<{ situation: string; given: Situation; actions: string[] }>([
    {
      situation: "every node is alive and the instance serves",
      given: {
        nodes: { a: ["alive", 4], b: ["alive", 4] },
        instances: [instance("m-1", "a", ["a", "b"])],
        reported: [["m-1", "READY"]],
      },
      actions: [],
    },
    {
      situation: "a shard node is suspected but the instance still serves",
      given: {
        nodes: { a: ["alive", 4], b: ["suspected", 4] },
        instances: [instance("m-1", "a", ["a", "b"])],
        reported: [["m-1", "READY"]],
      },
      actions: [],
    },
    {
      situation: "a shard node is suspected and nothing is reported yet",
      given: {
        nodes: { a: ["alive", 4], b: ["suspected", 4] },
        instances: [instance("m-1", "a", ["a", "b"])],
      },
      actions: [],
    },
    {
      situation: "a shard node is suspected and the engine died with it",
      given: {
        nodes: { a: ["alive", 4], b: ["suspected", 4] },
        instances: [instance("m-1", "a", ["a", "b"])],
        reported: [["m-1", "FAILED"]],
      },
      actions: ["place m-1 on a headed by a"],
    },
    {
      situation: "a shard node is gone: the instance is placed again on the nodes left",
      given: {
        nodes: { a: ["alive", 4], b: ["gone", 4], c: ["alive", 4] },
        instances: [instance("m-1", "a", ["a", "b"])],
      },
      actions: ["place m-1 on a headed by a"],
    },
    {
      situation: "the head is gone: a node that holds the file heads it",
      given: {
        nodes: { a: ["gone", 4], b: ["alive", 4], c: ["alive", 4] },
        instances: [instance("m-1", "a", ["a"])],
        holders: ["a", "c"],
      },
      actions: ["place m-1 on c headed by c"],
    },
    {
      situation: "a node restarted alone has not heard from the head yet",
      given: {
        nodes: { b: ["alive", 4] },
        instances: [instance("m-1", "a", ["a", "b"])],
        holders: ["a"],
        startedSecondsAgo: 2,
      },
      actions: [],
    },
    {
      situation: "a node restarted alone has not heard from the head for as long as a silent node is gone",
      given: {
        nodes: { b: ["alive", 4] },
        instances: [instance("m-1", "a", ["a", "b"])],
        holders: ["a"],
        startedSecondsAgo: 11,
      },
      actions: ["suspend m-1: does not fit on the nodes left"],
    },
    {
      situation: "the head is gone and no live node holds the file",
      given: {
        nodes: { a: ["gone", 4], b: ["alive", 4] },
        instances: [instance("m-1", "a", ["a"])],
        holders: ["a"],
      },
      actions: ["suspend m-1: does not fit on the nodes left"],
    },
    {
      situation: "a shard node is gone and the instance no longer fits on the node left",
      given: { nodes: { a: ["alive", 2], b: ["gone", 2] }, instances: [instance("m-1", "a", ["a", "b"])] },
      actions: ["suspend m-1: does not fit on the nodes left"],
    },
    {
      situation: "it no longer fits while another node it used is only suspected",
      given: {
        nodes: { a: ["alive", 2], b: ["gone", 2], c: ["suspected", 2] },
        instances: [instance("m-1", "a", ["a", "b", "c"])],
        reported: [["m-1", "FAILED"]],
      },
      actions: ["keep m-1 until c returns or is gone"],
    },
    {
      situation: "a suspended instance was tried a moment ago",
      given: {
        nodes: { a: ["alive", 4] },
        instances: [instance("m-1", "a", ["a"], { suspended: "does not fit" })],
        lastTried: [["m-1", now - 1000]],
      },
      actions: [],
    },
    {
      situation: "a suspended instance fits again now that a node came back (or a new coordinator took over)",
      given: {
        nodes: { a: ["alive", 4], b: ["alive", 4] },
        instances: [instance("m-1", "a", ["a"], { suspended: "does not fit" })],
        lastTried: [["m-1", now - 6000]],
      },
      actions: ["place m-1 on a headed by a"],
    },
    {
      situation: "a suspended instance still does not fit, for the same reason with other figures",
      given: {
        nodes: { a: ["alive", 2] },
        instances: [
          instance("m-1", "a", ["a"], {
            suspended: "does not fit on the nodes left: no live node holds the model file 'm'",
          }),
        ],
        holders: [],
      },
      actions: ["keep m-1"],
    },
    {
      situation: "a drain started a moment ago",
      given: {
        nodes: { a: ["alive", 4] },
        instances: [instance("m-1", "a", ["a"], { draining: secondsAgo(1) })],
        reported: [["m-1", "READY", 0]],
      },
      actions: [],
    },
    {
      situation: "a drain still has requests in flight",
      given: {
        nodes: { a: ["alive", 4] },
        instances: [instance("m-1", "a", ["a"], { draining: secondsAgo(30) })],
        reported: [["m-1", "READY", 2]],
      },
      actions: [],
    },
    {
      situation: "a drain has nothing left in flight",
      given: {
        nodes: { a: ["alive", 4] },
        instances: [instance("m-1", "a", ["a"], { draining: secondsAgo(30) })],
        reported: [["m-1", "READY", 0]],
      },
      actions: ["unload m-1"],
    },
    {
      situation: "a drain ran past its time limit with requests in flight",
      given: {
        nodes: { a: ["alive", 4] },
        instances: [instance("m-1", "a", ["a"], { draining: secondsAgo(700) })],
        reported: [["m-1", "READY", 2]],
      },
      actions: ["unload m-1 (timed out)"],
    },
    {
      situation: "two replicas lose their nodes: each is placed again on nodes the other does not use",
      given: {
        nodes: { a: ["alive", 4], b: ["alive", 4], c: ["gone", 4] },
        instances: [instance("m-1", "c", ["c"]), instance("m-2", "c", ["c"])],
        holders: ["a", "b", "c"],
      },
      actions: ["place m-1 on a headed by a", "place m-2 on b headed by b"],
    },
  ])("$situation", ({ given, actions }) => {
    expect(decide(given)).toEqual(actions);
  });

  describe("a split reached over a cable", () => {
    const lan = (host: number) => testInterface("eth0", "ethernet", [`10.0.0.${host}/24`]);
    const cable = (host: number, up = true) =>
      testInterface(`cable${host}`, "virtual", up ? [`10.9.0.${host}/30`] : [], { up });
    const split = instance("m-1", "a", ["a", "b"], {
      plan: {
        head: id("a"),
        splitMode: "layer",
        shards: [
          { node: id("a"), layerStart: 0, layerEnd: 10, fraction: 0.5 },
          { node: id("b"), layerStart: 10, layerEnd: 20, fraction: 0.5 },
        ],
        rpcNodes: [id("b")],
        tensorSplit: [],
        gpuLayers: 0,
        rpcTransport: "tunnel",
        rpcRoutes: [
          {
            transport: "direct",
            host: "10.9.0.2",
            path: { from: "10.9.0.1", to: "10.9.0.2", kind: "virtual", private: true, rdmaPossible: false },
          },
        ],
      },
    });
    const given = (aCableUp: boolean): Situation => ({
      // Neither holds the model alone.
      nodes: { a: ["alive", 3], b: ["alive", 3] },
      instances: [split],
      reported: [["m-1", "READY"]],
      interfaces: { a: [lan(1), cable(1, aCableUp)], b: [lan(2), cable(2)] },
    });

    it("keeps it while the cable is there", () => {
      expect(decide(given(true))).toEqual([]);
    });

    it("places it again over what remains when the cable goes away, naming the path", () => {
      expect(decide(given(false))).toEqual([
        "place m-1 on a+b headed by a (the path 10.9.0.1 -> 10.9.0.2 (virtual) went away)",
      ]);
    });
  });
});
