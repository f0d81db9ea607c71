import type { InterfaceAddress, NetworkInterface } from "../protocol/network-interface.js";
import { inSubnetOf, isLinkLocal } from "./address-math.js";
import type { NetworkPath } from "./find-paths.js";

/** IPv4 /30 and /31, IPv6 /126 and /127: room for the two ends of one link and nothing else. */
const pointToPointPrefix = { ipv4: 30, ipv6: 126 } as const;

/**
 * Whether a path is a cable between exactly these two machines: a Thunderbolt link, or a
 * point-to-point subnet (/30, /31), in which no third node has an address. A LAN subnet is never
 * private, however few herd nodes are on it: other devices may be. A third node with an address
 * in the path's subnet shares it, and so does, for a link-local path, any third node with a
 * link-local address on a Thunderbolt interface: link-local addresses cannot say which cable
 * they are on, so a Thunderbolt Bridge chaining three Macs is taken as shared. When in doubt, not private.
 *
 * @param others the interfaces of every node other than the path's two ends
 */
export function isPrivatePath(
  path: NetworkPath,
  fromInterfaces: readonly NetworkInterface[],
  others: ReadonlyArray<readonly NetworkInterface[]>,
): boolean {
  const own = fromInterfaces
    .find((entry) => entry.name === path.from.interface)
    ?.addresses.find((address) => address.address === path.from.address);
  if (!own) return false;
  const linkLocal = isLinkLocal(own);
  if (linkLocal && path.kind !== "thunderbolt") return false;
  if (path.kind !== "thunderbolt" && own.prefixLength < pointToPointPrefix[own.family]) return false;
  const shares = (entry: NetworkInterface, address: InterfaceAddress) =>
    entry.up &&
    entry.kind !== "loopback" &&
    (linkLocal
      ? entry.kind === "thunderbolt" && isLinkLocal(address) && address.family === own.family
      : inSubnetOf(own, address) || inSubnetOf(address, own));
  return !others.some((interfaces) =>
    interfaces.some((entry) => entry.addresses.some((address) => shares(entry, address))),
  );
}
