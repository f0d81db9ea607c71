import type { InterfaceAddress, InterfaceKind, NetworkInterface } from "../protocol/network-interface.js";
import { inSubnetOf, isLinkLocal } from "./address-math.js";

/** One end of a path: an interface of a node and the address used on it. */
export interface PathEnd {
  interface: string;
  address: string;
}

/** A way from one node to another: a pair of addresses that can reach each other directly. */
export interface NetworkPath {
  from: PathEnd;
  to: PathEnd;
  /** The weaker end's kind: Wi-Fi to Ethernet is a Wi-Fi path; only Thunderbolt at both ends is `thunderbolt`. */
  kind: InterfaceKind;
  /** Both ends can carry RDMA. */
  rdmaPossible: boolean;
}

/** From the weakest kind to the strongest: a path is as good as its weaker end. */
const strength: readonly InterfaceKind[] = ["wifi", "other", "virtual", "ethernet", "thunderbolt"];

/**
 * Every path from a node with `from` interfaces to one with `to` interfaces: for each pair of
 * interfaces that are up, the best pair of their addresses that reach each other. Addresses reach
 * each other when each lies in the other's subnet; link-local addresses (169.254/16, fe80::/10)
 * only across a Thunderbolt cable, since every interface has them and their subnet says nothing
 * of which link they are on. IPv4 is preferred to IPv6, a routable address to a link-local one.
 * These are candidates: where a node has several Thunderbolt interfaces, the addresses cannot say
 * which one the cable is in, so some link-local pairs may not connect; measuring a path tells.
 *
 * @example findPaths(studio.interfaces, m5.interfaces) // [{ from: { interface: "en2", address: "169.254.10.1" }, ... }]
 */
export function findPaths(from: readonly NetworkInterface[], to: readonly NetworkInterface[]): NetworkPath[] {
  const paths: NetworkPath[] = [];
  for (const local of from.filter(isPathEnd)) {
    for (const remote of to.filter(isPathEnd)) {
      const cable = local.kind === "thunderbolt" && remote.kind === "thunderbolt";
      const pairs = local.addresses.flatMap((own) =>
        remote.addresses
          .filter((other) => reachable(own, other, cable))
          .map((other) => ({ own, other, rank: preference(own) })),
      );
      const best = pairs.sort((a, b) => a.rank - b.rank)[0];
      if (!best) continue;
      paths.push({
        from: { interface: local.name, address: best.own.address },
        to: { interface: remote.name, address: best.other.address },
        kind: weaker(local.kind, remote.kind),
        rdmaPossible: local.rdma && remote.rdma,
      });
    }
  }
  return paths;
}

function isPathEnd(entry: NetworkInterface): boolean {
  return entry.up && entry.kind !== "loopback";
}

function reachable(own: InterfaceAddress, other: InterfaceAddress, cable: boolean): boolean {
  // The same address on both machines (Docker's default bridge, a VPN's shared gateway) is each machine itself.
  if (own.address === other.address) return false;
  if (isLinkLocal(own) || isLinkLocal(other))
    return cable && isLinkLocal(own) && isLinkLocal(other) && inSubnetOf(own, other);
  return inSubnetOf(own, other) && inSubnetOf(other, own);
}

/** Lower is better: IPv4 routable, IPv6 routable, IPv4 link-local, IPv6 link-local. */
function preference(address: InterfaceAddress): number {
  return (isLinkLocal(address) ? 2 : 0) + (address.family === "ipv6" ? 1 : 0);
}

function weaker(a: InterfaceKind, b: InterfaceKind): InterfaceKind {
  return strength.indexOf(a) <= strength.indexOf(b) ? a : b;
}
