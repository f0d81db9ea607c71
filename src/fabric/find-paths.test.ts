import { describe, expect, it } from "vitest";
import type { InterfaceKind, NetworkInterface } from "../protocol/network-interface.js";
import { findPaths, type NetworkPath } from "./find-paths.js";
import { testInterface } from "./test-interfaces.js";

const interfaceNamed = testInterface;

const loopback = interfaceNamed("lo0", "loopback", ["127.0.0.1/8", "::1/128"]);
const studio = [
  loopback,
  interfaceNamed("en0", "wifi", ["fe80::10/64", "192.168.1.20/24"]),
  interfaceNamed("en2", "thunderbolt", ["fe80::2/64", "169.254.10.1/16"], {
    rdma: true,
    rdmaDevice: "rdma_en2",
  }),
  interfaceNamed("bridge0", "thunderbolt", ["fe80::b/64"]),
  interfaceNamed("docker0", "virtual", ["172.17.0.1/16"]),
];
const m5 = [
  loopback,
  interfaceNamed("en0", "wifi", ["fe80::31/64", "192.168.1.31/24", "fd7a::31/64"]),
  interfaceNamed("en1", "thunderbolt", ["fe80::21/64", "169.254.10.2/16"], {
    rdma: true,
    rdmaDevice: "rdma_en1",
  }),
  interfaceNamed("docker0", "virtual", ["172.17.0.1/16"]),
];
const mini = [
  loopback,
  interfaceNamed("en0", "ethernet", ["fe80::40/64", "192.168.1.40/24"]),
  interfaceNamed("en1", "wifi", []),
];

const path = (
  from: [string, string],
  to: [string, string],
  kind: InterfaceKind,
  rdmaPossible = false,
): NetworkPath => ({
  from: { interface: from[0], address: from[1] },
  to: { interface: to[0], address: to[1] },
  kind,
  rdmaPossible,
});

describe("findPaths", () => {
  const rows: Array<[string, NetworkInterface[], NetworkInterface[], NetworkPath[]]> = [
    [
      "two Macs on Wi-Fi and a Thunderbolt cable: the cable's link-local pair and the LAN's IPv4",
      studio,
      m5,
      [
        path(["en0", "192.168.1.20"], ["en0", "192.168.1.31"], "wifi"),
        path(["en2", "169.254.10.1"], ["en1", "169.254.10.2"], "thunderbolt", true),
        // The bridge has only an IPv6 link-local address: a candidate, though its ports hold no cable here.
        path(["bridge0", "fe80::b"], ["en1", "fe80::21"], "thunderbolt"),
      ],
    ],
    [
      "Wi-Fi to wired Ethernet on one LAN is a Wi-Fi path; link-local across it is not a path",
      studio,
      mini,
      [path(["en0", "192.168.1.20"], ["en0", "192.168.1.40"], "wifi")],
    ],
    [
      "the other direction names the ends the other way round",
      mini,
      studio,
      [path(["en0", "192.168.1.40"], ["en0", "192.168.1.20"], "wifi")],
    ],
    [
      "a point-to-point /30 between two wired ports, and a LAN whose subnets differ",
      [
        interfaceNamed("eth1", "ethernet", ["10.254.0.1/30"]),
        interfaceNamed("eth0", "ethernet", ["192.168.1.5/24"]),
      ],
      [
        interfaceNamed("eth1", "ethernet", ["10.254.0.2/30"]),
        interfaceNamed("eth0", "ethernet", ["192.168.2.5/24"]),
      ],
      [path(["eth1", "10.254.0.1"], ["eth1", "10.254.0.2"], "ethernet")],
    ],
    [
      "an IPv6-only LAN",
      [interfaceNamed("eth0", "ethernet", ["fe80::1/64", "fd00:1::1/64"])],
      [interfaceNamed("eth0", "ethernet", ["fe80::2/64", "fd00:1::2/64"])],
      [path(["eth0", "fd00:1::1"], ["eth0", "fd00:1::2"], "ethernet")],
    ],
    [
      "an interface that is down is no path",
      [interfaceNamed("eth0", "ethernet", ["10.0.0.1/24"], { up: false })],
      [interfaceNamed("eth0", "ethernet", ["10.0.0.2/24"])],
      [],
    ],
    [
      "RDMA at one end only is not an RDMA path",
      [interfaceNamed("en2", "thunderbolt", ["169.254.1.1/16"], { rdma: true })],
      [interfaceNamed("thunderbolt0", "thunderbolt", ["169.254.1.2/16"])],
      [path(["en2", "169.254.1.1"], ["thunderbolt0", "169.254.1.2"], "thunderbolt")],
    ],
  ];
  it.each(rows)("%s", (_, from, to, expected) => {
    expect(findPaths(from, to)).toEqual(expected);
  });

  it("finds none where a node reports no interfaces", () => {
    expect(findPaths([], studio)).toEqual([]);
  });
});
