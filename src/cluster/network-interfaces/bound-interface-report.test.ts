import { describe, expect, it } from "vitest";
import { NodeProfile } from "../../protocol/cluster.js";
import type { NetworkInterface } from "../../protocol/network-interface.js";
import { testNodeProfile } from "../test-node-profile.js";
import { boundInterfaceReport } from "./bound-interface-report.js";

const veth = (index: number): NetworkInterface => ({
  name: `veth${index}`,
  kind: "virtual",
  addresses: [],
  up: true,
  rdma: false,
});
const uplink: NetworkInterface = {
  name: "eth0",
  kind: "ethernet",
  addresses: Array.from({ length: 70 }, (_, index) => ({
    address: `10.0.${index}.1`,
    prefixLength: 24,
    family: "ipv4" as const,
  })),
  up: true,
  rdma: false,
};

describe("boundInterfaceReport", () => {
  it("keeps a container host's profile readable by its peers, its uplink first", () => {
    const interfaces = [...Array.from({ length: 300 }, (_, index) => veth(index)), uplink];
    const bounded = boundInterfaceReport(interfaces);
    expect(bounded).toHaveLength(128);
    expect(bounded.at(-1)).toMatchObject({ name: "eth0" });
    expect(bounded.at(-1)!.addresses).toHaveLength(64);
    expect(() => NodeProfile.parse(testNodeProfile({ interfaces }))).toThrow();
    expect(NodeProfile.parse(testNodeProfile({ interfaces: bounded })).interfaces).toHaveLength(128);
  });

  it("leaves a usual machine's list as it is", () => {
    const interfaces = [uplink, veth(0)].map((entry) => ({
      ...entry,
      addresses: entry.addresses.slice(0, 2),
    }));
    expect(boundInterfaceReport(interfaces)).toEqual(interfaces);
  });
});

describe("NodeProfile's interfaces", () => {
  it("parse from a node older than the field (none) and from one newer (a kind this node does not know)", () => {
    expect(NodeProfile.parse(testNodeProfile()).interfaces).toBeUndefined();
    const newer = { ...veth(0), kind: "usb-network" };
    const parsed = NodeProfile.parse({ ...testNodeProfile(), interfaces: [newer] });
    expect(parsed.interfaces).toEqual([{ ...veth(0), kind: "other" }]);
  });
});
