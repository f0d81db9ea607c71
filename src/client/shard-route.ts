import { rdmaWarnings } from "../fabric/rdma-warnings.js";
import type { ClusterView } from "../protocol/cluster.js";
import type { PlanView } from "./herd-client.js";

/**
 * How a plan's head reaches the shard on `node`, in a few words for `herd plan` and the dashboard's
 * preview: `head`; `direct <from> -> <to> (<kind>, private, rdma possible)` over the path the plan
 * chose; or `tunnel (best path <from> -> <to>, <kind>)` with the best measured path its channel
 * may ride.
 *
 * @example shardRoute(plan, m5, view) // "direct 169.254.10.1 -> 169.254.10.2 (thunderbolt, private, rdma possible)"
 */
export function shardRoute(plan: PlanView, node: string, view: Pick<ClusterView, "links">): string {
  if (node === plan.head) return "head";
  const index = plan.rpcNodes?.indexOf(node) ?? -1;
  const route = index >= 0 ? plan.rpcRoutes?.[index] : undefined;
  if (!route) return plan.rpcTransport ?? "-";
  if (route.transport === "direct") {
    if (!route.path) return `direct${route.host ? ` ${route.host}` : ""}`;
    const rdma = route.path.rdmaPossible ? ", rdma possible" : "";
    return `direct ${route.path.from} -> ${route.path.to} (${route.path.kind}${route.path.private ? ", private" : ""}${rdma})`;
  }
  const best = view.links
    .find((link) => link.from === plan.head && link.to === node)
    ?.paths?.find((path) => path.best);
  return best ? `tunnel (best path ${best.from} -> ${best.to}, ${best.kind})` : "tunnel";
}

/** `rdmaWarnings` for the paths this plan's shards are reached over. */
export function planRdmaWarnings(plan: PlanView, view: ClusterView): string[] {
  const used = new Set(
    (plan.rpcRoutes ?? []).flatMap((route) => (route.path ? [`${route.path.from}>${route.path.to}`] : [])),
  );
  const links = view.links
    .filter((link) => link.from === plan.head)
    .map((link) => ({ ...link, paths: link.paths?.filter((path) => used.has(`${path.from}>${path.to}`)) }));
  return rdmaWarnings({ ...view, links });
}
