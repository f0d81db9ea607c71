import type {
  InterfaceAddress,
  InterfaceKind,
  NetworkInterface,
} from "../../../protocol/network-interface.js";

/** What `/sys/class/net/<name>/` says about one interface; each field is absent where the file is. */
export interface LinuxInterfaceFacts {
  name: string;
  /** `type`: the ARPHRD_* link type (1 Ethernet, 772 loopback, 32 InfiniBand). */
  linkType?: number;
  /** The interface's sysfs directory lies under `/sys/devices/virtual/` (no hardware behind it). */
  virtual: boolean;
  /** The name `device/driver` links to (`e1000e`, `thunderbolt-net`). */
  driver?: string;
  /** `wireless/` or `phy80211` exists, or `uevent` says `DEVTYPE=wlan`. */
  wireless: boolean;
  mtu?: number;
  /** `speed` in Mb/s; the kernel says -1, or refuses to read it, when it does not know. */
  speed?: number;
  /** `operstate`: `up`, `down`, `unknown`, `dormant`, ... */
  operstate?: string;
  /** `flags`: the IFF_* bits (IFF_UP is 0x1). */
  flags?: number;
  /** RDMA devices bound to this netdev (`/sys/class/infiniband/<device>/ports/<n>/gid_attrs/ndevs/*`). */
  rdmaDevices: string[];
}

const linkTypeLoopback = 772;
const linkTypeEthernet = 1;
const interfaceFlagUp = 0x1;
/** The kernel's Thunderbolt networking driver registers as `thunderbolt-net`; its module is `thunderbolt_net`. */
const thunderboltDrivers = new Set(["thunderbolt-net", "thunderbolt_net"]);

/** Turns one interface's sysfs facts and its addresses into what the node reports. */
export function describeLinuxInterface(
  facts: LinuxInterfaceFacts,
  addresses: InterfaceAddress[],
): NetworkInterface {
  const kind = linuxInterfaceKind(facts);
  const up =
    facts.operstate === "up" ||
    // Loopback and some tunnels never report a carrier: `unknown` with IFF_UP set means usable.
    (facts.operstate === "unknown" && ((facts.flags ?? 0) & interfaceFlagUp) !== 0);
  const rdmaDevice = facts.rdmaDevices[0];
  return {
    name: facts.name,
    kind,
    addresses,
    ...(facts.mtu !== undefined ? { mtu: facts.mtu } : {}),
    ...(facts.speed !== undefined && facts.speed > 0 ? { speedMbps: facts.speed } : {}),
    up,
    rdma: rdmaDevice !== undefined,
    ...(rdmaDevice !== undefined ? { rdmaDevice } : {}),
    ...(rdmaDevice === undefined && kind === "thunderbolt"
      ? { rdmaUnavailable: "no RDMA device is bound to it (Linux's thunderbolt-net carries TCP/IP only)" }
      : {}),
  };
}

/** The kind, checked from the most specific evidence to the least. */
export function linuxInterfaceKind(facts: LinuxInterfaceFacts): InterfaceKind {
  if (facts.linkType === linkTypeLoopback) return "loopback";
  if (facts.driver !== undefined && thunderboltDrivers.has(facts.driver)) return "thunderbolt";
  if (facts.wireless) return "wifi";
  if (facts.virtual) return "virtual";
  if (facts.linkType === linkTypeEthernet) return "ethernet";
  return "other";
}
