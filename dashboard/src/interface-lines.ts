import type { NodeProfile } from "../../src/protocol/cluster.js";

/**
 * A node's usable interfaces for its tooltip, one line each: `en2 thunderbolt 10.254.0.1/30 · RDMA`.
 * Loopback, interfaces that are down and those without an address are left out.
 */
export function interfaceLines(profile: NodeProfile | null): string[] {
  return (profile?.interfaces ?? [])
    .filter((entry) => entry.up && entry.kind !== "loopback" && entry.addresses.length > 0)
    .map((entry) => {
      const routable = entry.addresses.filter(
        (address) => !address.address.toLowerCase().startsWith("fe80:"),
      );
      const shown = (routable.length > 0 ? routable : entry.addresses)
        .map((address) => `${address.address}/${address.prefixLength}`)
        .join(", ");
      return `${entry.name} ${entry.kind} ${shown}${entry.rdma ? " · RDMA" : ""}`;
    });
}
