import { randomBytes } from "node:crypto";
import type { ClusterView, DesiredState, PlacedInstance } from "../protocol/cluster.js";
import { ConflictError, HerdError, NoPlacementError } from "../protocol/errors.js";
import type { NodeId } from "../protocol/ids.js";
import { abortAfter } from "../util/abort-after.js";
import { planOnCluster, toInstancePlan } from "./cluster-planning.js";

/** The nodes an instance runs on: its head and its shards. */
const involved = (instance: PlacedInstance): NodeId[] =>
  instance.plan ? instance.plan.shards.map((shard) => shard.node) : [instance.node];

/**
 * A replacement for each instance that runs on `node` (as head or shard), placed on the other live
 * nodes: same model and settings, a new id. Throws (NoPlacementError, ConflictError) when one fits
 * nowhere else, before anything changes, so that a drain either moves everything or nothing.
 */
export function planMoveOff(
  view: ClusterView,
  desired: DesiredState,
  node: NodeId,
  holdersOf: (model: string) => NodeId[],
): Array<{ from: PlacedInstance; to: PlacedInstance }> {
  const affected = desired.instances.filter(
    (instance) => instance.draining === undefined && involved(instance).includes(node),
  );
  return affected.map((instance) => {
    const basis = instance.basis;
    if (!basis)
      throw new ConflictError(`instance ${instance.id} has no placement basis to place it again elsewhere`);
    // The node itself still counts as a holder: where no other node has the file, the new head
    // copies it from there while the drain waits for it.
    const holders = holdersOf(basis.model.name);
    // Replicas stay on disjoint nodes; the instance being replaced may share nodes with its replacement.
    const siblings = desired.instances
      .filter((other) => other.model === instance.model && other.id !== instance.id)
      .flatMap(involved);
    const usable = view.nodes
      .filter((member) => member.state === "alive" && member.id !== node)
      .map((member) => member.id);
    const placement = {
      ...basis,
      avoid: [...(basis.avoid ?? []), ...siblings, node],
      nodes: basis.nodes?.filter((member) => usable.includes(member)),
      minNodes: basis.minNodes === undefined ? undefined : Math.min(basis.minNodes, usable.length),
    };
    const plan = (minNodes: number | undefined) =>
      planOnCluster(
        view,
        { ...placement, minNodes },
        { ...placement, minNodes, contextSize: instance.contextSize, parallel: instance.parallel },
        holders,
        holders.find((holder) => holder !== node) ?? usable[0] ?? node,
      );
    let placed: ReturnType<typeof plan>;
    try {
      placed = plan(placement.minNodes);
    } catch (error) {
      // As when a node fails: the model keeps serving on fewer nodes rather than holding the drain
      // (the nodes left may not split it together, e.g. engines of different versions).
      if (!(error instanceof NoPlacementError) || placement.minNodes === undefined) throw error;
      placed = plan(undefined);
    }
    const id = `${instance.model.replace(/[^A-Za-z0-9_-]/g, "-")}-${randomBytes(3).toString("hex")}`;
    const to: PlacedInstance = {
      ...instance,
      id: id as PlacedInstance["id"],
      node: placed.head,
      plan: toInstancePlan(placed, basis.rpcTransport, view),
      createdAt: new Date().toISOString(),
      suspended: undefined,
    };
    return { from: instance, to };
  });
}

export interface MoveOffShell {
  view: () => ClusterView;
  desired: () => DesiredState;
  holdersOf: (model: string) => NodeId[];
  add: (instance: PlacedInstance) => Promise<void>;
  /** Stops new requests to an instance; the coordinator unloads it once those in flight are done. */
  drain: (instanceId: string) => Promise<void>;
  waitUntilReady: (ids: string[], signal: AbortSignal) => Promise<void>;
  waitUntilRemoved: (ids: string[], signal: AbortSignal) => Promise<void>;
  signal: AbortSignal;
}

/** How long a replacement may take to become READY before the drain gives up. */
const replacementTimeoutMs = 15 * 60_000;

/**
 * Moves every instance off `node` without dropping a request: starts each replacement elsewhere,
 * waits until all are READY, then drains the originals (their requests in flight finish) and waits
 * until they are unloaded. Returns what moved where.
 */
export async function moveInstancesOff(
  node: NodeId,
  shell: MoveOffShell,
): Promise<Array<{ from: PlacedInstance; to: PlacedInstance }>> {
  const moves = planMoveOff(shell.view(), shell.desired(), node, shell.holdersOf);
  for (const move of moves) await shell.add(move.to);
  const timeout = abortAfter(replacementTimeoutMs, shell.signal);
  await shell
    .waitUntilReady(
      moves.map((move) => move.to.id),
      timeout,
    )
    .catch((error: unknown) => {
      if (!timeout.aborted || shell.signal.aborted) throw error;
      throw new HerdError(`the replacements were not READY after 15 minutes; ${node} keeps running`);
    });
  for (const move of moves) await shell.drain(move.from.id);
  await shell.waitUntilRemoved(
    moves.map((move) => move.from.id),
    shell.signal,
  );
  return moves;
}
