import { linkPaths } from "../fabric/link-paths.js";
import type { LinkPath } from "../protocol/cluster.js";
import type { NodeId } from "../protocol/ids.js";
import type { NodeState } from "./node-state.js";

/**
 * The paths from one member to another, from the interfaces their profiles report; none when
 * either reports none. Every other member that is not gone counts as a third node.
 */
export function pathsBetween(state: NodeState, from: NodeId, to: NodeId): LinkPath[] {
  const own = state.members.get(from)?.profile?.interfaces;
  const theirs = state.members.get(to)?.profile?.interfaces;
  if (!own || !theirs) return [];
  const others = [...state.members.values()]
    .filter((member) => member.introduction.id !== from && member.introduction.id !== to)
    .filter((member) => member.state !== "gone")
    .map((member) => member.profile?.interfaces ?? []);
  return linkPaths(own, theirs, others);
}
