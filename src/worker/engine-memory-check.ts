import type { InstancePlan } from "../protocol/cluster.js";
import type { NodeId } from "../protocol/ids.js";
import type { InstanceStatus } from "../protocol/instance.js";

/** One node's share of an instance: what the planner expected and what the engine allocated. */
export interface NodeMemoryCheck {
  node: NodeId;
  /** Weights + KV cache + compute buffers, as planned (the safety margin is not included). */
  plannedBytes: number;
  reportedBytes: number;
}

/**
 * Sets the engine's report of what it allocated beside the plan, node by node. The head's own
 * buffers are the head's; an RPC server's are the node at its position in `rpcNodes`. A CPU head
 * with tensor split appears twice (its own llama-server and its loopback RPC server): summed.
 */
export function checkEngineMemory(
  plan: InstancePlan,
  reported: NonNullable<InstanceStatus["engineMemory"]>,
): NodeMemoryCheck[] {
  const checks = new Map<NodeId, NodeMemoryCheck>();
  const at = (node: NodeId) => {
    let check = checks.get(node);
    if (!check) {
      check = { node, plannedBytes: 0, reportedBytes: 0 };
      checks.set(node, check);
    }
    return check;
  };
  for (const shard of plan.shards) at(shard.node).plannedBytes += shard.plannedBytes ?? 0;
  for (const place of reported) {
    const node = place.rpcIndex === undefined ? plan.head : plan.rpcNodes[place.rpcIndex];
    if (node === undefined) continue;
    at(node).reportedBytes += place.weightBytes + place.kvBytes + place.computeBytes;
  }
  return [...checks.values()];
}
