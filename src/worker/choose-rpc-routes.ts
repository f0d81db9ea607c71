import { isIPv4 } from "node:net";
import { linkCost, linkPaths } from "../fabric/link-paths.js";
import type { PlannedRoute } from "../placement/placement-types.js";
import type { ClusterView, LinkPath, PathView } from "../protocol/cluster.js";
import type { NodeId } from "../protocol/ids.js";
import {
  type InstancePlan,
  type RpcRoute,
  type RpcTransport,
  rpcRouteKey,
} from "../protocol/instance-plan.js";
import { endpointHost } from "../util/endpoint-host.js";

/**
 * How a head reaches each of its shards, from the transport asked for and the paths between the
 * nodes (their interfaces, ranked by what was measured of each):
 * - `auto`: a shard on a node joined to the head by a private path (a cable between exactly the
 *   two) is reached directly over the cheapest such path, its RPC server bound to its address on
 *   that path alone; every other shard through the keyed tunnel;
 * - `direct`: every remote shard directly, over the cheapest path (or the node's first advertised
 *   address when its interfaces are unknown);
 * - `tunnel`: every remote shard through the tunnel.
 * A shard on the head itself listens on loopback whatever the transport. A direct route takes
 * IPv4 paths only: the engine's RPC client and server speak IPv4 alone, so a cable with only IPv6
 * (link-local) addresses is reached through the tunnel, whose channel can cross it.
 *
 * @example chooseRpcRoutes(studio, [studio, m5], "auto", view) // { rpcTransport: "tunnel", rpcRoutes: [{ transport: "tunnel" }, { transport: "direct", host: "169.254.10.2", ... }] }
 */
export function chooseRpcRoutes(
  head: NodeId,
  rpcNodes: readonly NodeId[],
  transport: RpcTransport,
  view: Pick<ClusterView, "nodes" | "links">,
): Pick<InstancePlan, "rpcTransport" | "rpcRoutes"> {
  const rpcRoutes = rpcNodes.map((node): RpcRoute => {
    if (node === head || transport === "tunnel") return { transport: "tunnel" };
    const paths = rankedPaths(head, node, view).filter((path) => engineCanDial(path.toAddress));
    const chosen = transport === "auto" ? paths.find((path) => path.private) : paths[0];
    if (!chosen) return transport === "auto" ? { transport: "tunnel" } : { transport: "direct" };
    return {
      transport: "direct",
      host: chosen.toAddress,
      path: {
        from: chosen.fromAddress,
        to: chosen.toAddress,
        kind: chosen.kind,
        private: chosen.private,
        rdmaPossible: chosen.rdmaPossible,
      },
    };
  });
  return { rpcTransport: transport === "direct" ? "direct" : "tunnel", rpcRoutes };
}

/** llama.cpp's RPC resolves and binds IPv4 addresses only (`AF_INET`). */
function engineCanDial(address: string): boolean {
  return isIPv4(address);
}

/** The paths from `from` to `to`, cheapest first by what was measured of each (unmeasured ones last, in `findPaths` order). */
function rankedPaths(from: NodeId, to: NodeId, view: Pick<ClusterView, "nodes" | "links">): LinkPath[] {
  const interfaces = (id: NodeId) => view.nodes.find((node) => node.id === id)?.profile?.interfaces;
  const own = interfaces(from);
  const theirs = interfaces(to);
  if (!own || !theirs) return [];
  const others = view.nodes
    .filter((node) => node.id !== from && node.id !== to && node.state !== "gone")
    .map((node) => node.profile?.interfaces ?? []);
  const measured = view.links.find((link) => link.from === from && link.to === to)?.paths ?? [];
  const cost = (path: LinkPath) => {
    const figures = measured.find((each) => each.from === path.fromAddress && each.to === path.toAddress);
    return figures
      ? linkCost({ rttMs: figures.rttMs, throughputBytesPerSecond: figures.bytesPerSecond })
      : Number.POSITIVE_INFINITY;
  };
  return linkPaths(own, theirs, others)
    .map((path, order) => ({ path, order, cost: cost(path) }))
    .sort((a, b) => a.cost - b.cost || a.order - b.order)
    .map(({ path }) => path);
}

/**
 * For the planner: the route `chooseRpcRoutes` would give a head to a shard node, and the measured
 * figures of the path it crosses: a direct route's own path, the tunnel's the path of the cluster
 * channel it rides (to the shard node's first endpoint); the pair's best where that is not measured.
 */
export function plannedRoutes(
  transport: RpcTransport,
  view: Pick<ClusterView, "nodes" | "links">,
): (head: NodeId, shard: NodeId) => PlannedRoute {
  return (head, shard) => {
    const route = chooseRpcRoutes(head, [shard], transport, view).rpcRoutes?.[0] ?? { transport: "tunnel" };
    const paths = view.links.find((link) => link.from === head && link.to === shard)?.paths ?? [];
    const channel = view.nodes.find((node) => node.id === shard)?.endpoints[0] ?? "";
    const channelAddress = endpointHost(channel);
    if (route.transport === "direct") {
      const { path } = route;
      const description = !path
        ? `directly to ${route.host ?? "its advertised address"} (its interfaces are not known)`
        : `directly over ${path.from} -> ${path.to} (${path.kind}${path.private ? ", a cable between the two alone" : ""})`;
      const measured = path && paths.find((each) => each.from === path.from && each.to === path.to);
      // Without a path, the shard listens on its first advertised address: the one the channel dials.
      const tunnelPath = path ? path.to === channelAddress : true;
      return {
        key: rpcRouteKey(route),
        description,
        ...figuresOf(measured),
        ...(tunnelPath && { tunnelPath }),
      };
    }
    const measured = paths.find((each) => each.to === channelAddress);
    const why = transport === "tunnel" ? "as --rpc-transport tunnel asks" : "no cable joins the two alone";
    return { key: rpcRouteKey(route), description: `through the tunnel (${why})`, ...figuresOf(measured) };
  };
}

function figuresOf(path: PathView | undefined): Pick<PlannedRoute, "figures"> {
  if (!path || !(path.bytesPerSecond > 0)) return {};
  return { figures: { rttSeconds: path.rttMs / 1000, throughputBytesPerSecond: path.bytesPerSecond } };
}
