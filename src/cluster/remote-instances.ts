import type { NodeId } from "../protocol/ids.js";
import type { NodeState } from "./node-state.js";

/** A READY instance headed on another node, as the router weighs it. */
export interface RemoteInstance {
  node: NodeId;
  /** Where to reach its head's cluster channel. */
  endpoints: string[];
  instanceId: string;
  /** Slots (llama-server `-np`). */
  parallel: number;
  /** Requests other nodes had in flight on it as its head last reported. */
  othersInFlight: number;
}

/**
 * The READY instances of `model` headed on other live nodes that take new requests. Only instances
 * the desired state still wants and that are not draining count: a head's last heartbeat may still
 * call READY an instance that was just unloaded. Other nodes' requests are the head's count less
 * this node's own when the report arrived (this node counts its own exactly; a report is up to a
 * heartbeat old).
 */
export function remoteInstances(state: NodeState, model: string): RemoteInstance[] {
  const serving = new Set<string>(
    state.desired.instances.filter((instance) => !instance.draining).map((instance) => instance.id),
  );
  const result: RemoteInstance[] = [];
  for (const [node, report] of state.reports) {
    const member = state.members.get(node);
    if (member?.state !== "alive") continue;
    for (const summary of report.instances) {
      if (summary.model !== model || summary.state !== "READY" || !serving.has(summary.id)) continue;
      result.push({
        node,
        endpoints: member.introduction.endpoints,
        instanceId: summary.id,
        parallel: summary.parallel || 1,
        othersInFlight: Math.max(0, summary.inFlight - (report.sentAtReport.get(summary.id) ?? 0)),
      });
    }
  }
  return result;
}
