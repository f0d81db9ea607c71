import { describe, expect, it } from "vitest";
import { testViewNode } from "../cluster/test-node-profile.js";
import { testInterface, testThunderboltPath } from "../fabric/test-interfaces.js";
import type { ClusterView } from "../protocol/cluster.js";
import { NodeId } from "../protocol/ids.js";
import type { RpcRoute } from "../protocol/instance-plan.js";
import type { PlanView } from "./herd-client.js";
import { planRdmaWarnings, shardRoute } from "./shard-route.js";

const studio = NodeId.parse("10000000-0000-4000-8000-000000000000");
const m5 = NodeId.parse("20000000-0000-4000-8000-000000000000");
const mini = NodeId.parse("30000000-0000-4000-8000-000000000000");

const cable: RpcRoute = {
  transport: "direct",
  host: "169.254.10.2",
  path: { from: "169.254.10.1", to: "169.254.10.2", kind: "thunderbolt", private: true, rdmaPossible: true },
};

/** studio heads a split with shards on m5 (over `route`) and mini (through the tunnel). */
function planWith(route: RpcRoute, rpcTransport: PlanView["rpcTransport"] = "tunnel"): PlanView {
  return {
    head: studio,
    splitMode: "layer",
    shards: [],
    rpcNodes: [studio, m5, mini],
    rpcTransport,
    rpcRoutes: [{ transport: "tunnel" }, route, { transport: "tunnel" }],
  };
}

/** studio to mini measured over the LAN, the best (and only) path. */
const view: Pick<ClusterView, "links"> = {
  links: [
    {
      from: studio,
      to: mini,
      rttMs: 0.3,
      throughputBytesPerSecond: 112e6,
      measuredAt: 0,
      paths: [
        testThunderboltPath({
          from: "192.168.1.20",
          to: "192.168.1.40",
          interface: "en0",
          toInterface: "en0",
          kind: "ethernet",
          private: false,
          rdmaPossible: false,
        }),
      ],
    },
  ],
};

describe("shardRoute", () => {
  it.each([
    ["the head", planWith(cable), studio, "head"],
    [
      "a shard over the cable",
      planWith(cable),
      m5,
      "direct 169.254.10.1 -> 169.254.10.2 (thunderbolt, private, rdma possible)",
    ],
    [
      "a shard through the tunnel, with the best path measured",
      planWith(cable),
      mini,
      "tunnel (best path 192.168.1.20 -> 192.168.1.40, ethernet)",
    ],
    ["a shard through the tunnel, nothing measured", planWith({ transport: "tunnel" }), m5, "tunnel"],
    [
      "a direct shard on its advertised address",
      planWith({ transport: "direct", host: "192.168.1.31" }, "direct"),
      m5,
      "direct 192.168.1.31",
    ],
    ["a plan older than routes", { ...planWith(cable), rpcRoutes: undefined }, m5, "tunnel"],
  ] as const)("%s", (_case, plan, node, expected) => {
    expect(shardRoute(plan, node, view)).toBe(expected);
  });
});

describe("planRdmaWarnings", () => {
  /** studio and m5 on the Thunderbolt cable, studio's engine built without RDMA. */
  const cabled: ClusterView = {
    self: studio,
    coordinator: studio,
    epoch: 1,
    nodes: [
      [studio, "studio", false],
      [m5, "m5", true],
    ].map(([id, name, rdma]) =>
      testViewNode(id as NodeId, name as string, {
        engine: { version: "b1", backend: "metal", rpc: true, rdma: rdma as boolean },
        interfaces: [testInterface("en2", "thunderbolt", ["169.254.10.1/16"], { rdma: true })],
      }),
    ),
    links: [
      {
        from: studio,
        to: m5,
        rttMs: 0.02,
        throughputBytesPerSecond: 7e9,
        measuredAt: 0,
        paths: [testThunderboltPath()],
      },
    ],
    desired: { epoch: 1, writtenBy: studio, instances: [], upstreams: [], routes: {} },
    instances: [],
  };

  it("warns of a path the plan reaches a shard over that could carry RDMA and will not", () => {
    expect(planRdmaWarnings(planWith(cable), cabled)).toEqual([
      "warning: studio <-> m5 (169.254.10.1 -> 169.254.10.2, thunderbolt) could carry RDMA, but studio's engine was built without RDMA (no librdma or libibverbs when it was built: on macOS 26.2+ run 'rdma_ctl enable', then 'herd engine build --force')",
    ]);
  });

  it("says nothing of a cable the plan does not use", () => {
    expect(planRdmaWarnings(planWith({ transport: "tunnel" }), cabled)).toEqual([]);
  });
});
