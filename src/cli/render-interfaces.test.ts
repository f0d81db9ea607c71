import { describe, expect, it } from "vitest";
import { testNodeProfile } from "../cluster/test-node-profile.js";
import type { ClusterView, NodeProfile } from "../protocol/cluster.js";
import type { NodeId } from "../protocol/ids.js";
import type { NetworkInterface } from "../protocol/network-interface.js";
import { formatSpeed, renderInterfaces } from "./render-interfaces.js";

const engine = (rdma: boolean): NodeProfile["engine"] => ({
  version: "0.5.0",
  backend: "metal",
  rpc: true,
  rdma,
});

function viewOf(nodes: Array<{ name: string; profile: Partial<NodeProfile>; state?: "alive" | "gone" }>) {
  return {
    self: "n0" as NodeId,
    coordinator: "n0" as NodeId,
    epoch: 0,
    nodes: nodes.map((node, index) => ({
      id: `n${index}` as NodeId,
      name: node.name,
      state: node.state ?? "alive",
      role: "member" as const,
      joinedAt: index,
      lastSeenMsAgo: 0,
      endpoints: [],
      profile: testNodeProfile(node.profile),
    })),
    links: [],
    desired: { epoch: 0, writtenBy: null, instances: [], upstreams: [], routes: {} },
    instances: [],
  } satisfies ClusterView;
}

const cable: NetworkInterface = {
  name: "en2",
  kind: "thunderbolt",
  addresses: [
    { address: "fe80::1", prefixLength: 64, family: "ipv6" },
    { address: "10.254.0.1", prefixLength: 30, family: "ipv4" },
  ],
  mtu: 1500,
  up: true,
  rdma: true,
  rdmaDevice: "rdma_en2",
};
const wifi: NetworkInterface = {
  name: "en0",
  kind: "wifi",
  addresses: [{ address: "192.168.1.20", prefixLength: 24, family: "ipv4" }],
  mtu: 1500,
  up: true,
  rdma: false,
};
const bridgeMember: NetworkInterface = {
  name: "en3",
  kind: "thunderbolt",
  addresses: [{ address: "fe80::3", prefixLength: 64, family: "ipv6" }],
  mtu: 1500,
  up: true,
  rdma: false,
  rdmaUnavailable: "it is a member of bridge0",
};
const loopback: NetworkInterface = {
  name: "lo0",
  kind: "loopback",
  addresses: [{ address: "127.0.0.1", prefixLength: 8, family: "ipv4" }],
  up: true,
  rdma: false,
};
const down: NetworkInterface = { ...wifi, name: "en7", kind: "ethernet", up: false, speedMbps: 1000 };
const wired: NetworkInterface = { ...wifi, name: "eth0", kind: "ethernet", speedMbps: 2500 };

describe("renderInterfaces", () => {
  it("lists each node's usable interfaces, with RDMA and why not", () => {
    const lines = renderInterfaces(
      viewOf([
        {
          name: "studio",
          profile: { engine: engine(true), interfaces: [loopback, wifi, cable, bridgeMember, down] },
        },
        { name: "box", profile: { interfaces: [wired] } },
        { name: "old", profile: {} },
      ]),
    );
    expect(lines.join("\n")).toBe(
      [
        "",
        "NODE    INTERFACE  KIND         ADDRESSES        MTU   SPEED     RDMA",
        "studio  en0        wifi         192.168.1.20/24  1500  -         -",
        "studio  en2        thunderbolt  10.254.0.1/30    1500  -         yes (rdma_en2)",
        "studio  en3        thunderbolt  fe80::3/64       1500  -         no: it is a member of bridge0",
        "box     eth0       ethernet     192.168.1.20/24  1500  2.5 Gb/s  -",
      ].join("\n"),
    );
  });

  it("says when a node's engine cannot use the RDMA its interfaces offer", () => {
    const lines = renderInterfaces(
      viewOf([{ name: "m5", profile: { engine: engine(false), interfaces: [cable] } }]),
    );
    expect(lines.at(-1)).toBe(
      "m5: en2 can carry RDMA, but its engine was built without it (no librdma or libibverbs at build time); rebuild with 'herd engine build --force'",
    );
  });

  it("shows nothing where no live node reports interfaces", () => {
    expect(renderInterfaces(viewOf([{ name: "old", profile: {} }]))).toEqual([]);
    expect(
      renderInterfaces(viewOf([{ name: "gone", profile: { interfaces: [wifi] }, state: "gone" }])),
    ).toEqual([]);
  });
});

describe("formatSpeed", () => {
  it.each([
    [100, "100 Mb/s"],
    [1000, "1 Gb/s"],
    [2500, "2.5 Gb/s"],
    [10000, "10 Gb/s"],
    [40000, "40 Gb/s"],
  ])("%i Mb/s is %s", (speed, expected) => {
    expect(formatSpeed(speed)).toBe(expected);
  });
});
