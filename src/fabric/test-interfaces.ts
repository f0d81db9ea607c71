import type { PathView } from "../protocol/cluster.js";
import type { InterfaceKind, NetworkInterface } from "../protocol/network-interface.js";

/** An interface that is up, with `addresses` written as `address/prefix`, for tests. */
export function testInterface(
  name: string,
  kind: InterfaceKind,
  addresses: string[],
  extra: Partial<NetworkInterface> = {},
): NetworkInterface {
  return {
    name,
    kind,
    addresses: addresses.map((text) => {
      const [address, prefix] = text.split("/") as [string, string];
      return { address, prefixLength: Number(prefix), family: address.includes(":") ? "ipv6" : "ipv4" };
    }),
    up: true,
    rdma: false,
    ...extra,
  };
}

/** Three machines: studio and m5 joined by a Thunderbolt cable, all three on one LAN. */
export const testMachines = {
  studio: [
    testInterface("lo0", "loopback", ["127.0.0.1/8"]),
    testInterface("en0", "wifi", ["192.168.1.20/24"]),
    testInterface("en2", "thunderbolt", ["169.254.10.1/16"], { rdma: true, rdmaDevice: "rdma_en2" }),
  ],
  m5: [
    testInterface("lo0", "loopback", ["127.0.0.1/8"]),
    testInterface("en0", "wifi", ["192.168.1.31/24"]),
    testInterface("en1", "thunderbolt", ["169.254.10.2/16"], { rdma: true, rdmaDevice: "rdma_en1" }),
  ],
  mini: [
    testInterface("lo0", "loopback", ["127.0.0.1/8"]),
    testInterface("en0", "ethernet", ["192.168.1.40/24"]),
  ],
};

/** The Thunderbolt cable between `testMachines`' studio and m5 as `GET /herd/v1/cluster` shows a path, measured. */
export function testThunderboltPath(overrides: Partial<PathView> = {}): PathView {
  return {
    from: "169.254.10.1",
    to: "169.254.10.2",
    interface: "en2",
    toInterface: "en1",
    kind: "thunderbolt",
    rttMs: 0.02,
    bytesPerSecond: 7e9,
    rpc: null,
    private: true,
    rdmaPossible: true,
    best: true,
    measuredAt: 0,
    ...overrides,
  };
}
