import { bestLink } from "../fabric/link-paths.js";
import type { LinkMeasurement, LinkView, PathView, PlacedInstance } from "../protocol/cluster.js";
import type { NodeId } from "../protocol/ids.js";
import { endpointHost } from "../util/endpoint-host.js";
import type { NodeState } from "./node-state.js";

/**
 * The links between nodes that are not gone, one per ordered pair: the best path's figures (what
 * the planner reads), with every path measured and how the RPC of shards on it runs.
 */
export function linkViews(state: NodeState, shardRpc: (name: string) => string | undefined): LinkView[] {
  const pairs = new Map<string, LinkMeasurement[]>();
  for (const link of state.links.values()) {
    if (state.members.get(link.from)?.state === "gone" || state.members.get(link.to)?.state === "gone")
      continue;
    const key = `${link.from}>${link.to}`;
    pairs.set(key, [...(pairs.get(key) ?? []), link]);
  }
  return [...pairs.values()].map((measurements) => {
    const best = bestLink(measurements)!;
    const withPaths = measurements.filter((link) => link.path !== undefined);
    if (withPaths.length === 0) return best;
    const paths = withPaths
      .map((link): PathView => {
        const path = link.path!;
        return {
          from: path.fromAddress,
          to: path.toAddress,
          interface: path.fromInterface,
          toInterface: path.toInterface,
          kind: path.kind,
          rttMs: link.rttMs,
          bytesPerSecond: link.throughputBytesPerSecond,
          rpc: pathRpc(state, link.from, link.to, path.fromAddress, path.toAddress, shardRpc),
          private: path.private,
          rdmaPossible: path.rdmaPossible,
          best: link === best,
          measuredAt: link.measuredAt,
        };
      })
      .sort((a, b) => Number(b.best) - Number(a.best) || a.rttMs - b.rttMs);
    return { ...best, paths };
  });
}

/**
 * How the RPC of the shards between two nodes runs over one path: `tunnel` where a tunnelled
 * shard's channel connection takes it, the engine's own word (`rdma (active)`, `tcp`) where a
 * direct shard is bound to it, null where no shard runs over it.
 */
function pathRpc(
  state: NodeState,
  from: NodeId,
  to: NodeId,
  fromAddress: string,
  toAddress: string,
  shardRpc: (name: string) => string | undefined,
): string | null {
  const words = new Set<string>();
  for (const instance of state.desired.instances) {
    if (!instance.plan || instance.suspended !== undefined) continue;
    for (const { index, shardNode } of shardsBetween(instance, from, to)) {
      const route = instance.plan.rpcRoutes?.[index] ?? { transport: instance.plan.rpcTransport };
      const shardAddress = shardNode === to ? toAddress : fromAddress;
      if (route.transport === "direct") {
        const host = route.host ?? route.path?.to;
        if (host === shardAddress) words.add(shardRpc(`${instance.id}-s${index}`) ?? "tcp");
      } else {
        const channel = state.members.get(shardNode)?.introduction.endpoints[0] ?? "";
        if (endpointHost(channel) === shardAddress) words.add("tunnel");
      }
    }
  }
  return words.size > 0 ? [...words].sort().join(", ") : null;
}

/** The shards of an instance headed at one of two nodes and served by the other, with their `--rpc` index. */
function shardsBetween(
  instance: PlacedInstance,
  a: NodeId,
  b: NodeId,
): Array<{ index: number; shardNode: NodeId }> {
  const plan = instance.plan!;
  if (plan.head !== a && plan.head !== b) return [];
  const other = plan.head === a ? b : a;
  return plan.rpcNodes.flatMap((node, index) => (node === other ? [{ index, shardNode: node }] : []));
}

/** What the connection to a shard runs on, as the node serving it last said: this node's own, or a peer's report. */
export function shardRpcOf(state: NodeState, name: string): string | undefined {
  const local = state.local.shards.get(name)?.rpc;
  if (local) return local;
  for (const report of state.reports.values()) {
    const rpc = report.shardRpc?.get(name);
    if (rpc) return rpc;
  }
  return undefined;
}

/** What the connection to each of this node's shards runs on, for its heartbeats. */
export function shardRpcReport(state: NodeState): Array<{ name: string; rpc: string }> {
  return [...state.local.shards].flatMap(([name, shard]) => (shard.rpc ? [{ name, rpc: shard.rpc }] : []));
}
