import type { NodeEvent } from "../protocol/events.js";
import type { InstanceId, ModelName } from "../protocol/ids.js";
import type { NodeState } from "./node-state.js";

/**
 * What changed between two states, as the events `/herd/v1/events` and the log tell people: nodes
 * that joined or changed state, a new coordinator, then instances headed elsewhere that changed
 * state (so a client following a load through any node sees it, as often as heartbeats tell).
 */
export function nodeStateChanges(before: NodeState, after: NodeState): NodeEvent[] {
  const changes: NodeEvent[] = [];
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
  if (before.reports !== after.reports) {
    for (const [node, report] of after.reports) {
      const previous = before.reports.get(node);
      if (previous === report) continue;
      for (const summary of report.instances) {
        const earlier = previous?.instances.find((instance) => instance.id === summary.id);
        if (earlier?.state === summary.state && earlier.reason === summary.reason) continue;
        changes.push({
          type: "instance-state-changed",
          instanceId: summary.id as InstanceId,
          model: summary.model as ModelName,
          state: summary.state,
          reason: summary.reason,
        });
      }
    }
  }
  return changes;
}
