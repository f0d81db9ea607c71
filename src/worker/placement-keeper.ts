import type { ClusterView, DesiredChange, DesiredState, PlacedInstance } from "../protocol/cluster.js";
import { ConflictError, NoPlacementError } from "../protocol/errors.js";
import type { NodeId } from "../protocol/ids.js";
import type { Logger } from "../util/logger.js";
import { planOnCluster, toInstancePlan } from "./cluster-planning.js";

export interface PlacementKeeperOptions {
  self: NodeId;
  cluster: {
    readonly isCoordinator: boolean;
    readonly desiredState: DesiredState;
    view(): ClusterView;
    nodesHolding(model: string): NodeId[];
    changeDesired(change: DesiredChange): Promise<DesiredState>;
  };
  logger: Logger;
  /** How often the coordinator checks. Default 500 ms. */
  intervalMs?: number;
  /** Longest a drain waits for requests in flight before unloading anyway. Default 10 minutes. */
  drainTimeoutMs?: number;
}

/** The nodes an instance runs on: its head and its shards. */
const involved = (instance: PlacedInstance): NodeId[] =>
  instance.plan ? instance.plan.shards.map((shard) => shard.node) : [instance.node];

const stateOf = (view: ClusterView, node: NodeId) =>
  view.nodes.find((member) => member.id === node)?.state ?? "gone";

/**
 * How long a draining instance stays before its count of requests in flight is trusted: every node
 * must have seen the drain (no new requests) and reported its count since (heartbeats, every second).
 */
const drainSettleMs = 2500;

/**
 * The coordinator's recovery loop. An instance that lost a node (gone, or suspected while the
 * instance is not READY: its engine died with the connection) is planned again over the nodes that
 * remain; one that no longer fits is suspended with the planner's explanation and placed again when
 * nodes come back. Instances that are healthy are never moved.
 */
export class PlacementKeeper {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private readonly lastTry = new Map<string, number>();

  constructor(private readonly options: PlacementKeeperOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.options.intervalMs ?? 500);
    this.timer.unref();
  }

  dispose(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    if (this.busy || !this.options.cluster.isCoordinator) return;
    this.busy = true;
    try {
      const view = this.options.cluster.view();
      for (const instance of this.options.cluster.desiredState.instances) {
        if (instance.draining) {
          if (this.drained(instance, view)) {
            this.options.logger.info({ instance: instance.id }, `drained ${instance.id}; unloading it`);
            await this.options.cluster.changeDesired({ op: "remove-instances", match: instance.id });
          }
          continue;
        }
        if (!instance.basis || !this.needsPlacement(instance, view)) continue;
        const last = this.lastTry.get(instance.id) ?? 0;
        if (instance.suspended && Date.now() - last < 5000) continue;
        this.lastTry.set(instance.id, Date.now());
        await this.place(instance, view);
      }
    } catch (error) {
      this.options.logger.warn({ err: error }, "placement check failed");
    } finally {
      this.busy = false;
    }
  }

  /** A draining instance with nothing left in flight (or not serving at all, or past the time limit). */
  private drained(instance: PlacedInstance, view: ClusterView): boolean {
    const elapsed = Date.now() - Date.parse(instance.draining!);
    if (elapsed < drainSettleMs) return false;
    if (elapsed > (this.options.drainTimeoutMs ?? 600_000)) {
      this.options.logger.warn(
        { instance: instance.id },
        "drain timed out with requests still in flight; unloading anyway",
      );
      return true;
    }
    const summary = view.instances.find((candidate) => candidate.id === instance.id);
    return summary?.state !== "READY" || summary.inFlight === 0;
  }

  private needsPlacement(instance: PlacedInstance, view: ClusterView): boolean {
    if (instance.suspended) return true;
    const running = view.instances.find((summary) => summary.id === instance.id);
    return involved(instance).some((node) => {
      const state = stateOf(view, node);
      // A suspected node may be heard from again in a moment: it counts only when the head has
      // reported the engine down. With no report at all, the node's removal decides.
      return (
        state === "gone" || (state === "suspected" && running !== undefined && running.state !== "READY")
      );
    });
  }

  private async place(instance: PlacedInstance, view: ClusterView): Promise<void> {
    const basis = instance.basis!;
    // The head needs the model's file, and the draft's too.
    const holders = this.options.cluster
      .nodesHolding(basis.model.name)
      .filter((node) => !basis.draft || this.options.cluster.nodesHolding(basis.draft.name).includes(node));
    // Replicas stay on disjoint nodes: the others' nodes are not used.
    const siblings = this.options.cluster.desiredState.instances
      .filter((other) => other.model === instance.model && other.id !== instance.id)
      .flatMap((other) => (other.plan ? other.plan.shards.map((shard) => shard.node) : [other.node]));
    const alive = (node: NodeId) => view.nodes.find((member) => member.id === node)?.state === "alive";
    const head =
      alive(instance.node) && holders.includes(instance.node)
        ? instance.node
        : (holders.find((node) => !siblings.includes(node)) ?? holders[0]);
    let next: PlacedInstance;
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
        holders,
        head,
      );
      next = {
        ...instance,
        node: plan.head,
        plan: toInstancePlan(plan, basis.rpcTransport),
        suspended: undefined,
      };
      this.options.logger.info(
        { instance: instance.id, head: plan.head, shards: plan.shards.length },
        `placed ${instance.model} again over the nodes that remain`,
      );
    } catch (error) {
      if (!(error instanceof NoPlacementError) && !(error instanceof ConflictError)) throw error;
      // Suspending stops the engine wherever it still runs: not while a node it used may come back.
      const suspected = involved(instance).filter((node) => stateOf(view, node) === "suspected");
      if (suspected.length > 0) {
        this.options.logger.debug(
          { instance: instance.id, suspected },
          `${instance.model} does not fit without a suspected node; waiting for it to return or be removed`,
        );
        return;
      }
      const reason = `does not fit on the nodes left: ${error.message}`;
      // Free memory moves a little all the time; the same verdict with other figures is no news.
      const gist = (text: string | undefined) => text?.replace(/[\d.]+/g, "#");
      if (gist(instance.suspended) === gist(reason)) return;
      next = { ...instance, suspended: reason };
      this.options.logger.warn({ instance: instance.id }, reason);
    }
    await this.options.cluster.changeDesired({ op: "update-instance", instance: next });
  }
}
