import { membershipTimings } from "../cluster/node-state.js";
import { linkPaths } from "../fabric/link-paths.js";
import type { ClusterView, DesiredEvent, PlacedInstance } from "../protocol/cluster.js";
import { ConflictError, NoPlacementError } from "../protocol/errors.js";
import type { InstanceId, NodeId } from "../protocol/ids.js";
import { planOnCluster, preferredHead, toInstancePlan } from "./cluster-planning.js";

/** What the coordinator's recovery looks at. */
export interface RecoverySituation {
  /** The cluster as the coordinator sees it: members, links, the desired state, every instance's state. */
  view: ClusterView;
  /** The live nodes whose store holds a model's file. */
  nodesHolding: (model: string) => readonly NodeId[];
  /** When each instance was last tried (ms): a suspended one is tried again only every 5 s. */
  lastTried: ReadonlyMap<string, number>;
  /** Longest a drain waits for requests in flight before unloading anyway. */
  drainTimeoutMs: number;
  /**
   * When this node started (ms). A node it has not heard from since is given the time a silent
   * node has before it is counted gone: a node restarted alone must not re-place, or suspend, what
   * runs on peers it has not reached yet (its desired state may even be older than theirs).
   */
  startedAt: number;
}

/** The changes recovery makes to the desired state. */
export type RecoveryChange = Extract<
  DesiredEvent,
  { type: "instances-removed" | "instance-replanned" | "instance-suspended" }
>;

/** What the coordinator should do. */
export interface RecoveryDecision {
  /**
   * Changes to the desired state, in order: `instances-removed` for a drained instance,
   * `instance-replanned` for one that lost a node and fits on the nodes left, `instance-suspended`
   * for one that does not.
   */
  changes: RecoveryChange[];
  /**
   * Instances tried and left as they are: a node they used may come back (`waitingFor`), or the
   * planner's verdict is the one they are suspended with.
   */
  kept: Array<{ instanceId: InstanceId; waitingFor: NodeId[] }>;
}

/** What one instance's placement came to. */
type Outcome =
  | { type: "place"; instance: PlacedInstance }
  | { type: "suspend"; instanceId: InstanceId; reason: string }
  | { type: "keep"; instanceId: InstanceId; waitingFor: NodeId[] };

/**
 * How long a draining instance stays before its count of requests in flight is trusted: every node
 * must have seen the drain (no new requests) and reported its count since (heartbeats, every second).
 */
const drainSettleMs = 2500;
/** How often a suspended instance is tried again: the planner is not free, and memory moves slowly. */
const retrySuspendedMs = 5000;

/** The nodes an instance runs on: its head and its shards. */
const involved = (instance: PlacedInstance): NodeId[] =>
  instance.plan ? instance.plan.shards.map((shard) => shard.node) : [instance.node];

type MemberState = ClusterView["nodes"][number]["state"];

/** Each node's state as recovery counts it: one never heard of is suspected for a while, then gone. */
function memberStates(situation: RecoverySituation, now: number): (node: NodeId) => MemberState {
  const unheardOf = now - situation.startedAt < membershipTimings.removeAfterMs ? "suspected" : "gone";
  return (node) => situation.view.nodes.find((member) => member.id === node)?.state ?? unheardOf;
}

/**
 * The coordinator's recovery, decided. An instance that lost a node (gone, or suspected while the
 * instance is not READY: its engine died with the connection) is planned again over the nodes that
 * remain; one that no longer fits is suspended with the planner's explanation and placed again when
 * nodes come back. Instances that are healthy are never moved. Instances are decided in order, each
 * seeing the decisions before it (replicas stay on disjoint nodes).
 */
export function decideRecovery(situation: RecoverySituation, now: number): RecoveryDecision {
  const decision: RecoveryDecision = { changes: [], kept: [] };
  const stateOf = memberStates(situation, now);
  let desired = situation.view.desired.instances;
  for (const instance of situation.view.desired.instances) {
    if (instance.draining) {
      const outcome = drainOutcome(instance, situation, now);
      if (outcome !== "in-flight")
        decision.changes.push({
          type: "instances-removed",
          match: instance.id,
          reason: outcome === "timed-out" ? "drain timed out with requests still in flight" : "drained",
        });
      continue;
    }
    const lost = lostPath(instance, situation.view, stateOf);
    if (!instance.basis || (!needsPlacement(instance, situation.view, stateOf) && !lost)) continue;
    if (instance.suspended && now - (situation.lastTried.get(instance.id) ?? 0) < retrySuspendedMs) continue;
    const outcome = place(instance, desired, situation, stateOf);
    switch (outcome.type) {
      case "place": {
        const { id, node, plan } = outcome.instance;
        decision.changes.push({
          type: "instance-replanned",
          instanceId: id,
          node,
          plan: plan!,
          ...(lost ? { reason: `the path ${lost} went away` } : {}),
        });
        desired = desired.map((other) => (other.id === id ? outcome.instance : other));
        break;
      }
      case "suspend":
        decision.changes.push({
          type: "instance-suspended",
          instanceId: outcome.instanceId,
          reason: outcome.reason,
        });
        desired = desired.map((other) =>
          other.id === outcome.instanceId ? { ...other, suspended: outcome.reason } : other,
        );
        break;
      case "keep":
        decision.kept.push({ instanceId: outcome.instanceId, waitingFor: outcome.waitingFor });
        break;
    }
  }
  return decision;
}

function drainOutcome(
  instance: PlacedInstance,
  situation: RecoverySituation,
  now: number,
): "in-flight" | "drained" | "timed-out" {
  const elapsed = now - Date.parse(instance.draining!);
  if (elapsed < drainSettleMs) return "in-flight";
  if (elapsed > situation.drainTimeoutMs) return "timed-out";
  const summary = situation.view.instances.find((candidate) => candidate.id === instance.id);
  return summary?.state !== "READY" || summary.inFlight === 0 ? "drained" : "in-flight";
}

function needsPlacement(
  instance: PlacedInstance,
  view: ClusterView,
  stateOf: (node: NodeId) => MemberState,
): boolean {
  if (instance.suspended) return true;
  const running = view.instances.find((summary) => summary.id === instance.id);
  return involved(instance).some((node) => {
    const state = stateOf(node);
    // A suspected node may be heard from again in a moment: it counts only when the head has
    // reported the engine down. With no report at all, the node's removal decides.
    return state === "gone" || (state === "suspected" && running !== undefined && running.state !== "READY");
  });
}

/**
 * The path a shard of a running instance is reached over directly that is there no more (a cable
 * pulled, its address gone), as `from -> to (kind)`; undefined while every such path remains, or
 * while a node at either end has not reported its interfaces (its removal decides instead).
 */
function lostPath(
  instance: PlacedInstance,
  view: ClusterView,
  stateOf: (node: NodeId) => MemberState,
): string | undefined {
  const plan = instance.plan;
  if (!plan?.rpcRoutes || instance.suspended) return undefined;
  const interfaces = (node: NodeId) =>
    stateOf(node) === "alive"
      ? view.nodes.find((member) => member.id === node)?.profile?.interfaces
      : undefined;
  for (const [index, route] of plan.rpcRoutes.entries()) {
    if (route.transport !== "direct" || !route.path) continue;
    const head = interfaces(plan.head);
    const shard = interfaces(plan.rpcNodes[index]!);
    if (!head || !shard) continue;
    const { from, to, kind } = route.path;
    const remains = linkPaths(head, shard, []).some(
      (path) => path.fromAddress === from && path.toAddress === to,
    );
    if (!remains) return `${from} -> ${to} (${kind})`;
  }
  return undefined;
}

function place(
  instance: PlacedInstance,
  desired: readonly PlacedInstance[],
  { view, nodesHolding }: RecoverySituation,
  stateOf: (node: NodeId) => MemberState,
): Outcome {
  const basis = instance.basis!;
  // The head needs the model's file, and the draft's too.
  const holders = nodesHolding(basis.model.name).filter(
    (node) => !basis.draft || nodesHolding(basis.draft.name).includes(node),
  );
  // Replicas stay on disjoint nodes: the others' nodes are not used.
  const siblings = desired
    .filter((other) => other.model === instance.model && other.id !== instance.id)
    .flatMap((other) => (other.plan ? other.plan.shards.map((shard) => shard.node) : [other.node]));
  const current = stateOf(instance.node) === "alive" ? instance.node : undefined;
  const head = preferredHead(holders, siblings, current);
  try {
    if (!head) throw new ConflictError(`no live node holds the model file '${basis.model.name}'`);
    const usable = view.nodes.filter((node) => node.state === "alive").map((node) => node.id);
    // What the user pinned or asked for still holds, within the nodes that are left: a minimum
    // node count that can no longer be met is relaxed rather than leaving the model down.
    const placement = {
      ...basis,
      avoid: [...(basis.avoid ?? []), ...siblings],
      nodes: basis.nodes?.filter((node) => usable.includes(node)),
      minNodes: basis.minNodes === undefined ? undefined : Math.min(basis.minNodes, usable.length),
    };
    const plan = planOnCluster(
      view,
      placement,
      { ...placement, contextSize: instance.contextSize, parallel: instance.parallel },
      [...holders],
      head,
    );
    return {
      type: "place",
      instance: {
        ...instance,
        node: plan.head,
        plan: toInstancePlan(plan, basis.rpcTransport, view),
        suspended: undefined,
      },
    };
  } catch (error) {
    if (!(error instanceof NoPlacementError) && !(error instanceof ConflictError)) throw error;
    // Suspending stops the engine wherever it still runs: not while a node it used may come back.
    const suspected = involved(instance).filter((node) => stateOf(node) === "suspected");
    if (suspected.length > 0) return { type: "keep", instanceId: instance.id, waitingFor: suspected };
    const reason = `does not fit on the nodes left: ${error.message}`;
    // Free memory moves a little all the time; the same verdict with other figures is no news.
    const gist = (text: string | undefined) => text?.replace(/[\d.]+/g, "#");
    if (gist(instance.suspended) === gist(reason))
      return { type: "keep", instanceId: instance.id, waitingFor: [] };
    return { type: "suspend", instanceId: instance.id, reason };
  }
}
