import type { LinkMeasurement, LinkPath } from "../protocol/cluster.js";
import type { NetworkInterface } from "../protocol/network-interface.js";
import { findPaths } from "./find-paths.js";
import { isPrivatePath } from "./is-private-path.js";

/**
 * The paths from a node with `from` interfaces to one with `to` interfaces, each marked private or
 * not, in the form links are measured and kept in.
 *
 * @param others the interfaces of every other node (a subnet one of them shares is not private)
 */
export function linkPaths(
  from: readonly NetworkInterface[],
  to: readonly NetworkInterface[],
  others: ReadonlyArray<readonly NetworkInterface[]>,
): LinkPath[] {
  return findPaths(from, to).map((path) => ({
    fromInterface: path.from.interface,
    fromAddress: path.from.address,
    toInterface: path.to.interface,
    toAddress: path.to.address,
    kind: path.kind,
    rdmaPossible: path.rdmaPossible,
    private: isPrivatePath(path, from, others),
  }));
}

/** What a link is taken to carry before its throughput is probed: gigabit Ethernet. */
const assumedBytesPerSecond = 110e6;

/**
 * Seconds one representative RPC exchange takes over a link: a round trip and a megabyte. Decode
 * over RPC is mostly round trips, loading and prefill mostly bytes; this weighs both as a split does.
 */
export function linkCost(link: Pick<LinkMeasurement, "rttMs" | "throughputBytesPerSecond">): number {
  const bytesPerSecond =
    link.throughputBytesPerSecond > 0 ? link.throughputBytesPerSecond : assumedBytesPerSecond;
  return link.rttMs / 1000 + 1e6 / bytesPerSecond;
}

/** The cheapest of several measurements of one pair of nodes (`linkCost`), or undefined. */
export function bestLink<T extends Pick<LinkMeasurement, "rttMs" | "throughputBytesPerSecond">>(
  links: readonly T[],
): T | undefined {
  let best: T | undefined;
  for (const link of links) if (!best || linkCost(link) < linkCost(best)) best = link;
  return best;
}

/** The key of a path in a pair's links: its two addresses. */
export function pathKey(path: Pick<LinkPath, "fromAddress" | "toAddress">): string {
  return `${path.fromAddress}>${path.toAddress}`;
}
