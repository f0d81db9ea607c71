import { describe, expect, it } from "vitest";
import { testViewNode } from "../cluster/test-node-profile.js";
import { testInterface, testMachines, testThunderboltPath } from "../fabric/test-interfaces.js";
import type { ClusterView } from "../protocol/cluster.js";
import { NodeId } from "../protocol/ids.js";
import type { RpcTransport } from "../protocol/instance-plan.js";
import type { NetworkInterface } from "../protocol/network-interface.js";
import { chooseRpcRoutes, plannedRoutes } from "./choose-rpc-routes.js";

const ids = {
  studio: NodeId.parse("10000000-0000-4000-8000-000000000000"),
  m5: NodeId.parse("20000000-0000-4000-8000-000000000000"),
  mini: NodeId.parse("30000000-0000-4000-8000-000000000000"),
  old: NodeId.parse("40000000-0000-4000-8000-000000000000"),
};
type Name = keyof typeof ids;

/** The view of nodes with these interfaces (`old` reports none, as a node older than interfaces). */
function viewOf(interfaces: Partial<Record<Name, NetworkInterface[]>>): Pick<ClusterView, "nodes" | "links"> {
  return {
    nodes: (Object.keys(ids) as Name[]).map((name) =>
      testViewNode(ids[name], name, { interfaces: interfaces[name] }),
    ),
    links: [],
  };
}

const cabled = viewOf(testMachines);
/** Two Linux hosts with a veth /30 between them, and a LAN all three share. */
const veth = viewOf({
  studio: [
    testInterface("lan0", "ethernet", ["10.0.0.1/24"]),
    testInterface("cable0", "virtual", ["10.9.0.1/30"]),
  ],
  m5: [
    testInterface("lan0", "ethernet", ["10.0.0.2/24"]),
    testInterface("cable0", "virtual", ["10.9.0.2/30"]),
  ],
  mini: [testInterface("lan0", "ethernet", ["10.0.0.3/24"])],
});
/** A third Mac with a link-local Thunderbolt address: the cable may be a bridge through it. */
const chained = viewOf({
  ...testMachines,
  mini: [...testMachines.mini, testInterface("en3", "thunderbolt", ["169.254.30.3/16"])],
});
/** The same Macs with IPv6 alone on their Thunderbolt cable (link-local), which the engine cannot dial. */
const ipv6Cable = viewOf({
  studio: [testMachines.studio[1]!, testInterface("en2", "thunderbolt", ["fe80::1/64"])],
  m5: [testMachines.m5[1]!, testInterface("en1", "thunderbolt", ["fe80::2/64"])],
});

const describeRoutes = (
  transport: RpcTransport,
  view: Pick<ClusterView, "nodes" | "links">,
  shards: Name[],
) => {
  const chosen = chooseRpcRoutes(
    ids.studio,
    shards.map((name) => ids[name]),
    transport,
    view,
  );
  return [
    chosen.rpcTransport,
    ...chosen.rpcRoutes!.map(
      (route) =>
        `${route.transport}${route.host ? ` ${route.host}` : ""}${route.path ? ` (${route.path.kind})` : ""}`,
    ),
  ];
};

/** studio to m5 measured over both paths: the Wi-Fi and the Thunderbolt cable (the best). */
const measured = {
  ...cabled,
  links: [
    {
      from: ids.studio,
      to: ids.m5,
      rttMs: 0.02,
      throughputBytesPerSecond: 7e9,
      measuredAt: 0,
      paths: [
        {
          from: "192.168.1.20",
          to: "192.168.1.31",
          interface: "en0",
          toInterface: "en0",
          kind: "wifi" as const,
          rttMs: 3.1,
          bytesPerSecond: 64e6,
          rpc: null,
          private: false,
          rdmaPossible: false,
          best: false,
          measuredAt: 0,
        },
        testThunderboltPath(),
      ],
    },
  ],
};

describe("chooseRpcRoutes", () => {
  it.each([
    [
      "auto: the Thunderbolt cable is used directly, the LAN-only node through the tunnel",
      "auto",
      cabled,
      ["m5", "mini"],
      ["tunnel", "direct 169.254.10.2 (thunderbolt)", "tunnel"],
    ],
    [
      "auto: a veth /30 no third host shares is a cable",
      "auto",
      veth,
      ["m5", "mini"],
      ["tunnel", "direct 10.9.0.2 (virtual)", "tunnel"],
    ],
    [
      "auto: the head's own shard stays on loopback",
      "auto",
      cabled,
      ["studio", "m5"],
      ["tunnel", "tunnel", "direct 169.254.10.2 (thunderbolt)"],
    ],
    [
      "auto: a link-local cable a third Mac could share is not private",
      "auto",
      chained,
      ["m5"],
      ["tunnel", "tunnel"],
    ],
    [
      "auto: a cable with IPv6 addresses alone goes through the tunnel (the engine's RPC is IPv4)",
      "auto",
      ipv6Cable,
      ["m5"],
      ["tunnel", "tunnel"],
    ],
    [
      "auto: a node that reports no interfaces goes through the tunnel",
      "auto",
      cabled,
      ["old"],
      ["tunnel", "tunnel"],
    ],
    [
      "tunnel: every shard through the tunnel, cable or not",
      "tunnel",
      cabled,
      ["m5", "mini"],
      ["tunnel", "tunnel", "tunnel"],
    ],
    [
      "direct: every shard directly, on the path found first when none is measured",
      "direct",
      cabled,
      ["m5", "mini"],
      ["direct", "direct 192.168.1.31 (wifi)", "direct 192.168.1.40 (wifi)"],
    ],
    [
      "direct: a node without interfaces on its advertised address",
      "direct",
      cabled,
      ["old"],
      ["direct", "direct"],
    ],
  ] as const)("%s", (_situation, transport, view, shards, expected) => {
    expect(describeRoutes(transport, view, [...shards])).toEqual(expected);
  });

  it("direct: an IPv6 cable is passed over for an IPv4 path, though measured the cheapest", () => {
    const links = [
      {
        ...measured.links[0]!,
        paths: [testThunderboltPath({ from: "fe80::1", to: "fe80::2" }), measured.links[0]!.paths[0]!],
      },
    ];
    expect(describeRoutes("direct", { ...ipv6Cable, links }, ["m5"])).toEqual([
      "direct",
      "direct 192.168.1.31 (wifi)",
    ]);
  });

  it("direct: the cheapest measured path wins", () => {
    expect(describeRoutes("direct", measured, ["m5"])).toEqual([
      "direct",
      "direct 169.254.10.2 (thunderbolt)",
    ]);
  });
});

describe("plannedRoutes", () => {
  it.each([
    [
      "auto: the cable's own figures, under the key calibration keeps it by",
      "auto",
      {
        key: "direct 169.254.10.1>169.254.10.2",
        description:
          "directly over 169.254.10.1 -> 169.254.10.2 (thunderbolt, a cable between the two alone)",
        figures: { rttSeconds: 0.02e-3, throughputBytesPerSecond: 7e9 },
      },
    ],
    [
      "tunnel: the path of the cluster channel it rides, the Wi-Fi, not the pair's best",
      "tunnel",
      {
        key: "tunnel",
        description: "through the tunnel (as --rpc-transport tunnel asks)",
        figures: { rttSeconds: 3.1e-3, throughputBytesPerSecond: 64e6 },
      },
    ],
  ] as const)("%s", (_situation, transport, expected) => {
    const view = {
      ...measured,
      nodes: measured.nodes.map((node) =>
        node.id === ids.m5 ? { ...node, endpoints: ["192.168.1.31:52416"] } : node,
      ),
    };
    expect(plannedRoutes(transport, view)(ids.studio, ids.m5)).toEqual(expected);
  });

  it("says when a direct route goes to the address the tunnel to the node rides", () => {
    const overChannel = {
      ...measured,
      nodes: measured.nodes.map((node) =>
        node.id === ids.m5 ? { ...node, endpoints: ["169.254.10.2:52416"] } : node,
      ),
    };
    expect(plannedRoutes("auto", overChannel)(ids.studio, ids.m5)).toMatchObject({
      key: "direct 169.254.10.1>169.254.10.2",
      tunnelPath: true,
    });
    // Interfaces unknown: the shard listens on its first advertised address, the channel's.
    const unknown = { ...measured, nodes: measured.nodes.map((node) => ({ ...node, profile: null })) };
    expect(plannedRoutes("direct", unknown)(ids.studio, ids.m5)).toMatchObject({
      key: "direct",
      tunnelPath: true,
    });
  });

  it("auto: a node with no cable goes through the tunnel, with the pair's figures where its channel's path is not measured", () => {
    expect(plannedRoutes("auto", cabled)(ids.studio, ids.mini)).toEqual({
      key: "tunnel",
      description: "through the tunnel (no cable joins the two alone)",
    });
  });
});
