import {
  maxReportedAddresses,
  maxReportedInterfaces,
  type NetworkInterface,
} from "../../protocol/network-interface.js";

/**
 * Keeps a machine's interface list within what peers accept in a profile: a Kubernetes or Docker
 * host can have hundreds of veth interfaces, and a profile over the limit would make every
 * heartbeat unreadable. The interfaces that can carry a path to another machine are kept first.
 */
export function boundInterfaceReport(interfaces: readonly NetworkInterface[]): NetworkInterface[] {
  const rank = (entry: NetworkInterface) =>
    (entry.up && entry.addresses.length > 0 ? 0 : 2) + (entry.kind === "virtual" ? 1 : 0);
  const kept = interfaces
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => rank(a.entry) - rank(b.entry) || a.index - b.index)
    .slice(0, maxReportedInterfaces)
    .sort((a, b) => a.index - b.index);
  return kept.map(({ entry }) =>
    entry.addresses.length > maxReportedAddresses
      ? { ...entry, addresses: entry.addresses.slice(0, maxReportedAddresses) }
      : entry,
  );
}
