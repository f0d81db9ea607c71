import type { ClusterView, InstanceSummary } from "../protocol/cluster.js";
import { linkViews } from "./link-views.js";
import type { NodeState } from "./node-state.js";

/**
 * `GET /herd/v1/cluster`: what this node knows, as every node should agree on it. Nodes in the
 * order they joined; links between nodes that are not gone (each with its paths, and how the RPC of
 * shards runs on each: `shardRpc` by shard name); this node's own instances (which it
 * knows first-hand) before those its peers reported.
 */
export function clusterView(
  state: NodeState,
  localInstances: readonly InstanceSummary[],
  now: number,
  shardRpc: (name: string) => string | undefined = () => undefined,
): ClusterView {
  return {
    self: state.self,
    coordinator: state.coordinator,
    epoch: state.desired.epoch,
    nodes: [...state.members.values()]
      .map((member) => ({
        id: member.introduction.id,
        name: member.introduction.name,
        state: member.state,
        role: member.introduction.id === state.coordinator ? ("coordinator" as const) : ("member" as const),
        joinedAt: member.introduction.joinedAt,
        lastSeenMsAgo: Math.max(0, now - member.lastHeardAt),
        endpoints: member.introduction.endpoints,
        profile: member.profile,
      }))
      .sort((a, b) => a.joinedAt - b.joinedAt || a.id.localeCompare(b.id)),
    links: linkViews(state, shardRpc),
    desired: state.desired,
    instances: [...localInstances, ...[...state.reports.values()].flatMap((report) => report.instances)],
  };
}
