import type { PlacedInstance } from "../protocol/cluster.js";
import { ConflictError, NoPlacementError } from "../protocol/errors.js";
import type { InstanceId, NodeId } from "../protocol/ids.js";
import type { InstanceSpec } from "../protocol/instance.js";

/**
 * Places `count` instances of one model on disjoint nodes: each is planned with the nodes the
 * previous ones use excluded. `auto` places as many as fit (at least one); a number that cannot be
 * met fails with the planner's reason for the first replica that did not fit. `place` returns
 * undefined when there is nowhere to put another one.
 */
export function placeReplicas(
  count: number | "auto",
  spec: InstanceSpec,
  place: (spec: InstanceSpec, excluded: NodeId[]) => PlacedInstance | undefined,
): PlacedInstance[] {
  const placed: PlacedInstance[] = [];
  const used = new Set<NodeId>();
  const limit = count === "auto" ? Number.POSITIVE_INFINITY : count;
  for (let index = 0; index < limit; index++) {
    const replica = { ...spec, id: (index === 0 ? spec.id : `${spec.id}-r${index + 1}`) as InstanceId };
    let instance: PlacedInstance | undefined;
    try {
      instance = place(replica, [...used]);
    } catch (error) {
      const outOfRoom = error instanceof NoPlacementError || error instanceof ConflictError;
      if (!outOfRoom || index === 0) throw error;
      if (count === "auto") break;
      throw new ConflictError(
        `only ${index} of ${count} replicas of '${spec.model}' fit on disjoint nodes: ${error.message}`,
        { cause: error },
      );
    }
    if (!instance) {
      if (count === "auto" && index > 0) break;
      throw new ConflictError(
        `only ${index} of ${count} replicas of '${spec.model}' fit: no node is left that the others do not use`,
      );
    }
    placed.push(instance);
    const nodes = instance.plan ? instance.plan.shards.map((shard) => shard.node) : [instance.node];
    for (const node of nodes) used.add(node);
  }
  return placed;
}
