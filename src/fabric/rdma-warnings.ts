import type { ClusterView } from "../protocol/cluster.js";

/**
 * A warning for each path between two live nodes that could carry RDMA and does not, with the
 * reason herd can see: an engine built without RDMA at either end, a Thunderbolt port that cannot
 * (macOS older than 26.2, `rdma_ctl` not enabled, Thunderbolt 4, the Thunderbolt Bridge), the
 * engine's own words when activation failed, or a shard that goes through the tunnel or stays on TCP.
 * Each pair of addresses is named once, whichever way it was measured.
 *
 * @example rdmaWarnings(view) // ["studio <-> m5 (169.254.10.1 -> 169.254.10.2, thunderbolt) could carry RDMA, but studio's engine was built without it ..."]
 */
export function rdmaWarnings(view: ClusterView): string[] {
  return rdmaShortfalls(view).map((shortfall) => shortfall.warning);
}

/** A path that could carry RDMA and does not: its warning, and how its shards' RPC runs (null: none on it). */
export interface RdmaShortfall {
  /** The two ends, `<node>@<address>`, sorted: the same whichever way the path was measured. */
  key: string;
  rpc: string | null;
  warning: string;
}

/**
 * `rdmaWarnings` with the path each is about. Those with `rpc` set are a shard that runs without
 * RDMA where it could have it: what a node announces as an event when the shard connects.
 */
export function rdmaShortfalls(view: ClusterView): RdmaShortfall[] {
  const node = (id: string) => view.nodes.find((entry) => entry.id === id);
  const seen = new Set<string>();
  const shortfalls: RdmaShortfall[] = [];
  for (const link of view.links) {
    const from = node(link.from);
    const to = node(link.to);
    if (!from?.profile || !to?.profile || from.state === "gone" || to.state === "gone") continue;
    for (const path of link.paths ?? []) {
      const key = [`${from.id}@${path.from}`, `${to.id}@${path.to}`].sort().join(" ");
      if (seen.has(key)) continue;
      seen.add(key);
      const where = `${from.name} <-> ${to.name} (${path.from} -> ${path.to}, ${path.kind})`;
      const reason = whyNot(path, from, to);
      if (reason)
        shortfalls.push({ key, rpc: path.rpc, warning: `warning: ${where} could carry RDMA, but ${reason}` });
    }
  }
  return shortfalls;
}

/**
 * The shortfalls with a shard on them that are not among `announced` (`announcementKey`s of those
 * said before): what a node says anew when its shards' connections change.
 */
export function unannouncedShortfalls(
  view: ClusterView,
  announced: ReadonlySet<string>,
): Array<RdmaShortfall & { rpc: string }> {
  return rdmaShortfalls(view).filter(
    (shortfall): shortfall is RdmaShortfall & { rpc: string } =>
      shortfall.rpc !== null && !announced.has(announcementKey(shortfall)),
  );
}

/** A shortfall's path and engine word: said again only if the word changes. */
export function announcementKey(shortfall: RdmaShortfall): string {
  return `${shortfall.key} ${shortfall.rpc}`;
}

type ViewNode = ClusterView["nodes"][number];
type ViewPath = NonNullable<ClusterView["links"][number]["paths"]>[number];

function whyNot(path: ViewPath, from: ViewNode, to: ViewNode): string | undefined {
  if (!path.rdmaPossible) {
    if (path.kind !== "thunderbolt") return undefined;
    const unavailable = (node: ViewNode, name: string) =>
      node.profile?.interfaces?.find((entry) => entry.name === name)?.rdmaUnavailable;
    const reason = unavailable(from, path.interface) ?? unavailable(to, path.toInterface);
    return reason ? `RDMA cannot run on it: ${reason}` : undefined;
  }
  const without = [from, to].filter((node) => node.profile?.engine && !node.profile.engine.rdma);
  if (without.length > 0)
    return `${without.map((node) => node.name).join(" and ")}'s engine was built without RDMA (no librdma or libibverbs when it was built: on macOS 26.2+ run 'rdma_ctl enable', then 'herd engine build --force')`;
  if (path.rpc === null || path.rpc.startsWith("rdma")) return undefined;
  if (path.rpc.includes("rdma failed")) return `its shard stayed on TCP: ${path.rpc}`;
  if (path.rpc.includes("tunnel"))
    return "its shard goes through the tunnel, which cannot carry RDMA (--rpc-transport auto or direct)";
  return "its shard runs on TCP (the engines did not negotiate RDMA: is the other end capable?)";
}
