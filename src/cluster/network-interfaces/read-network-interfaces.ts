import { networkInterfaces } from "node:os";
import type { NetworkInterface } from "../../protocol/network-interface.js";
import { toInterfaceAddresses } from "./interface-addresses.js";
import { readLinuxInterfaces } from "./linux/read-linux-interfaces.js";
import { macosInterfaceReader } from "./macos/read-macos-interfaces.js";

/** Reads this machine's interfaces; each call reads them afresh. */
export type InterfaceReader = () => Promise<NetworkInterface[]>;

/** The reader for this operating system: sysfs on Linux, the macOS commands on macOS, Node's list elsewhere. */
export function interfaceReaderFor(platform: NodeJS.Platform): InterfaceReader {
  if (platform === "linux") return () => readLinuxInterfaces();
  if (platform === "darwin") return macosInterfaceReader();
  return async () => nodeListedInterfaces();
}

/** What Node alone can tell (Windows and the rest): names and addresses, the kind only for loopback. */
export function nodeListedInterfaces(): NetworkInterface[] {
  return Object.entries(networkInterfaces()).map(([name, entries = []]) => ({
    name,
    kind: entries.length > 0 && entries.every((entry) => entry.internal) ? "loopback" : "other",
    addresses: toInterfaceAddresses(entries),
    up: true,
    rdma: false,
  }));
}

/** The interfaces and addresses Node lists, as one string: a cheap look (no command) that changes when a cable comes or goes. */
export function listedAddresses(): string {
  return Object.entries(networkInterfaces())
    .map(([name, entries = []]) => `${name} ${entries.map((entry) => entry.address).join(" ")}`)
    .sort()
    .join("\n");
}
