import type { ClusterEvent } from "../protocol/cluster-events.js";
import type { NodeState } from "./node-state.js";

/**
 * What changed between two states, as the events `/herd/v1/events` and the log tell people: nodes
 * that joined or changed state, then a new coordinator.
 */
export function nodeStateChanges(before: NodeState, after: NodeState): ClusterEvent[] {
  const changes: ClusterEvent[] = [];
  if (before.members !== after.members) {
    for (const [id, member] of after.members) {
      const previous = before.members.get(id);
      const name = member.introduction.name;
      if (!previous) changes.push({ type: "node-joined", nodeId: id, name });
      else if (previous.state !== member.state)
        changes.push({
          type: "node-state-changed",
          nodeId: id,
          name,
          state: member.state,
          reason: member.reason,
        });
    }
  }
  if (before.coordinator !== after.coordinator) {
    changes.push({ type: "coordinator-changed", nodeId: after.coordinator, previous: before.coordinator });
  }
  return changes;
}
