import type { InterfaceKind, NetworkInterface } from "../../../protocol/network-interface.js";
import type { HardwarePort } from "./parse-hardware-ports.js";
import { type IfconfigEntry, mediaSpeedMbps } from "./parse-ifconfig.js";
import { isVersionAtLeast, type RdmaControlStatus } from "./parse-macos-facts.js";
import type { ThunderboltPort } from "./parse-thunderbolt-ports.js";

/** What the macOS commands said, each already parsed. */
export interface MacosFacts {
  hardwarePorts: HardwarePort[];
  interfaces: IfconfigEntry[];
  /** Undefined where `system_profiler` gave nothing readable. */
  thunderboltPorts: ThunderboltPort[] | undefined;
  /** `sw_vers -productVersion`, undefined where unreadable. */
  version: number[] | undefined;
  rdmaControl: RdmaControlStatus;
}

/** The first macOS with RDMA over Thunderbolt 5. */
const rdmaMinimumVersion = [26, 2];
/** Thunderbolt 5 ports say `Up to 80 Gb/s` or, with bandwidth boost, `Up to 120 Gb/s`; Thunderbolt 4 says 40. */
const thunderbolt5MinimumGbps = 80;

/** Turns the macOS commands' facts into what the node reports, one entry per `ifconfig` interface. */
export function describeMacosInterfaces(facts: MacosFacts): NetworkInterface[] {
  const ports = new Map(facts.hardwarePorts.map((port) => [port.device, port.port]));
  const bridgeOf = new Map(
    facts.interfaces.flatMap((entry) => entry.members.map((member) => [member, entry.name] as const)),
  );
  return facts.interfaces.map((entry) => {
    const port = ports.get(entry.name);
    const kind = macosInterfaceKind(entry, port);
    const speed = mediaSpeedMbps(entry.media);
    const flags = new Set(entry.flags);
    const rdma = kind === "thunderbolt" ? thunderboltRdma(entry.name, port, bridgeOf, facts) : undefined;
    return {
      name: entry.name,
      kind,
      addresses: entry.addresses,
      ...(entry.mtu !== undefined ? { mtu: entry.mtu } : {}),
      ...(speed !== undefined ? { speedMbps: speed } : {}),
      up: flags.has("UP") && flags.has("RUNNING") && entry.status !== "inactive",
      rdma: rdma?.device !== undefined,
      ...(rdma?.device !== undefined ? { rdmaDevice: rdma.device } : {}),
      ...(rdma?.unavailable !== undefined ? { rdmaUnavailable: rdma.unavailable } : {}),
    };
  });
}

/** The kind from the hardware port's name; an interface that is no hardware port is virtual. */
export function macosInterfaceKind(entry: IfconfigEntry, port: string | undefined): InterfaceKind {
  if (entry.flags.includes("LOOPBACK")) return "loopback";
  if (port === undefined) return "virtual";
  if (/wi-?fi|airport/i.test(port)) return "wifi";
  // Before Thunderbolt: Apple's "Thunderbolt Ethernet Slot 1" adapter is an Ethernet port.
  if (/ethernet|\blan\b|gbe/i.test(port)) return "ethernet";
  if (/^thunderbolt/i.test(port)) return "thunderbolt";
  return "other";
}

/** Whether RDMA can run on a Thunderbolt interface, or the first reason it cannot. */
function thunderboltRdma(
  name: string,
  port: string | undefined,
  bridgeOf: ReadonlyMap<string, string>,
  facts: MacosFacts,
): { device?: string; unavailable?: string } {
  const receptacle = Number(/^Thunderbolt (\d+)$/i.exec(port ?? "")?.[1]);
  if (!Number.isInteger(receptacle))
    return { unavailable: "a bridge: RDMA runs on a Thunderbolt port's own interface, outside any bridge" };
  if (!facts.version) return { unavailable: "the macOS version could not be read" };
  if (!isVersionAtLeast(facts.version, rdmaMinimumVersion))
    return {
      unavailable: `macOS ${facts.version.join(".")} has no RDMA over Thunderbolt (26.2 or later has)`,
    };
  const maxGbps = facts.thunderboltPorts?.find((candidate) => candidate.receptacle === receptacle)?.maxGbps;
  if (maxGbps === undefined)
    return { unavailable: `the generation of Thunderbolt port ${receptacle} is unknown` };
  if (maxGbps < thunderbolt5MinimumGbps)
    return {
      unavailable: `Thunderbolt port ${receptacle} is not Thunderbolt 5 (up to ${maxGbps} Gb/s); RDMA needs Thunderbolt 5`,
    };
  if (facts.rdmaControl === "missing") return { unavailable: "rdma_ctl is not installed" };
  if (facts.rdmaControl !== "enabled")
    return { unavailable: "RDMA is not enabled: run 'rdma_ctl enable' in macOS Recovery, then restart" };
  const bridge = bridgeOf.get(name);
  if (bridge)
    return {
      unavailable: `it is a member of ${bridge}: RDMA needs the port taken out of the Thunderbolt Bridge`,
    };
  // macOS names the RDMA device after the interface (`ibv_devices` lists `rdma_en2` for en2).
  return { device: `rdma_${name}` };
}
