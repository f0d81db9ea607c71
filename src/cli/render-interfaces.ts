import type { ClusterView } from "../protocol/cluster.js";
import type { NetworkInterface } from "../protocol/network-interface.js";
import { formatTable } from "./table.js";

/**
 * The interfaces part of `herd status`: each node's interfaces that could carry a path to another
 * machine (up, with an address, not loopback), and a note for each node whose engine cannot use
 * the RDMA its interfaces offer. Empty where no node reports interfaces (all older than the field).
 */
export function renderInterfaces(view: ClusterView): string[] {
  const nodes = view.nodes.filter((node) => node.state !== "gone" && node.profile?.interfaces);
  if (nodes.length === 0) return [];
  const rows = nodes.flatMap((node) =>
    node
      .profile!.interfaces!.filter(isPathCandidate)
      .map((entry) => [
        node.name,
        entry.name,
        entry.kind,
        shownAddresses(entry).join(", "),
        entry.mtu !== undefined ? String(entry.mtu) : "-",
        entry.speedMbps !== undefined ? formatSpeed(entry.speedMbps) : "-",
        rdmaCell(entry),
      ]),
  );
  const notes = nodes.flatMap((node) => {
    const capable = node.profile!.interfaces!.filter((entry) => entry.rdma).map((entry) => entry.name);
    return capable.length > 0 && node.profile!.engine && !node.profile!.engine.rdma
      ? [
          `${node.name}: ${capable.join(", ")} can carry RDMA, but its engine was built without it (no librdma or libibverbs at build time); rebuild with 'herd engine build --force'`,
        ]
      : [];
  });
  return [
    "",
    formatTable(["NODE", "INTERFACE", "KIND", "ADDRESSES", "MTU", "SPEED", "RDMA"], rows),
    ...notes,
  ];
}

function isPathCandidate(entry: NetworkInterface): boolean {
  return entry.up && entry.kind !== "loopback" && entry.addresses.length > 0;
}

/** Addresses with their prefix; IPv6 link-local ones only where the interface has nothing else. */
function shownAddresses(entry: NetworkInterface): string[] {
  const all = entry.addresses.map((address) => `${address.address}/${address.prefixLength}`);
  const routable = entry.addresses
    .filter((address) => !(address.family === "ipv6" && address.address.toLowerCase().startsWith("fe80:")))
    .map((address) => `${address.address}/${address.prefixLength}`);
  return routable.length > 0 ? routable : all;
}

function rdmaCell(entry: NetworkInterface): string {
  if (entry.rdma) return `yes (${entry.rdmaDevice ?? "device unknown"})`;
  return entry.rdmaUnavailable ? `no: ${entry.rdmaUnavailable}` : "-";
}

/** 1000 → `1 Gb/s`, 2500 → `2.5 Gb/s`, 100 → `100 Mb/s`. */
export function formatSpeed(megabitsPerSecond: number): string {
  return megabitsPerSecond >= 1000
    ? `${Number((megabitsPerSecond / 1000).toFixed(1))} Gb/s`
    : `${megabitsPerSecond} Mb/s`;
}
