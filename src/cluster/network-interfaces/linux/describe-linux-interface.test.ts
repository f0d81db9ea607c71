import { describe, expect, it } from "vitest";
import type { NetworkInterface } from "../../../protocol/network-interface.js";
import { describeLinuxInterface, type LinuxInterfaceFacts } from "./describe-linux-interface.js";

const base: LinuxInterfaceFacts = { name: "x", virtual: false, wireless: false, rdmaDevices: [] };
const address = { address: "10.0.0.1", prefixLength: 24, family: "ipv4" as const };

describe("describeLinuxInterface", () => {
  const rows: Array<[string, Partial<LinuxInterfaceFacts>, Partial<NetworkInterface>]> = [
    [
      "loopback, whose operstate is unknown but IFF_UP is set",
      { name: "lo", linkType: 772, virtual: true, operstate: "unknown", flags: 0x9, mtu: 65536 },
      { kind: "loopback", up: true, mtu: 65536, rdma: false },
    ],
    [
      "a wired port with its speed",
      { name: "eno1", linkType: 1, driver: "e1000e", operstate: "up", flags: 0x1003, speed: 1000, mtu: 1500 },
      { kind: "ethernet", up: true, speedMbps: 1000, mtu: 1500 },
    ],
    [
      "a wired port without a cable: the kernel says speed -1",
      { name: "eno2", linkType: 1, driver: "igb", operstate: "down", flags: 0x1003, speed: -1 },
      { kind: "ethernet", up: false, speedMbps: undefined },
    ],
    [
      "a Thunderbolt cable, whatever its name",
      { name: "thunderbolt0", linkType: 1, driver: "thunderbolt-net", operstate: "up", mtu: 65520 },
      {
        kind: "thunderbolt",
        up: true,
        rdma: false,
        rdmaUnavailable: "no RDMA device is bound to it (Linux's thunderbolt-net carries TCP/IP only)",
      },
    ],
    [
      "the module's spelling of the Thunderbolt driver",
      { name: "tb1", linkType: 1, driver: "thunderbolt_net", operstate: "up" },
      { kind: "thunderbolt" },
    ],
    [
      "Wi-Fi, dormant while it associates",
      { name: "wlp2s0", linkType: 1, driver: "iwlwifi", wireless: true, operstate: "dormant", flags: 0x1003 },
      { kind: "wifi", up: false },
    ],
    [
      "a veth end, which sits under /sys/devices/virtual",
      { name: "veth0", linkType: 1, virtual: true, operstate: "up", speed: 10000 },
      { kind: "virtual", up: true, speedMbps: 10000 },
    ],
    [
      "a WireGuard tunnel: no link type herd knows, virtual",
      { name: "wg0", linkType: 65534, virtual: true, operstate: "unknown", flags: 0x91 },
      { kind: "virtual", up: true },
    ],
    [
      "an interface that is administratively down and reports unknown",
      { name: "tun0", linkType: 65534, virtual: true, operstate: "unknown", flags: 0x1090 },
      { kind: "virtual", up: false },
    ],
    [
      "a RoCE port with an RDMA device bound to it",
      { name: "enp65s0f0np0", linkType: 1, driver: "mlx5_core", operstate: "up", rdmaDevices: ["mlx5_0"] },
      { kind: "ethernet", rdma: true, rdmaDevice: "mlx5_0", rdmaUnavailable: undefined },
    ],
    [
      "an InfiniBand port (IPoIB): hardware, not Ethernet",
      { name: "ib0", linkType: 32, driver: "mlx5_core", operstate: "up", rdmaDevices: ["mlx5_1"] },
      { kind: "other", rdma: true, rdmaDevice: "mlx5_1" },
    ],
  ];
  it.each(rows)("%s", (_, facts, expected) => {
    const described = describeLinuxInterface({ ...base, ...facts }, [address]);
    const entries = Object.entries(expected);
    const present = Object.fromEntries(entries.filter(([, value]) => value !== undefined));
    expect(described).toMatchObject({ ...present, addresses: [address] });
    for (const [key] of entries.filter(([, value]) => value === undefined)) {
      expect(described).not.toHaveProperty(key);
    }
  });
});
