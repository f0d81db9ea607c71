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
}

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

  private needsPlacement(instance: PlacedInstance, view: ClusterView): boolean {
    if (instance.suspended) return true;
    const involved = instance.plan ? instance.plan.shards.map((shard) => shard.node) : [instance.node];
    const running = view.instances.find((summary) => summary.id === instance.id);
    return involved.some((node) => {
      const state = view.nodes.find((member) => member.id === node)?.state ?? "gone";
      return state === "gone" || (state === "suspected" && running?.state !== "READY");
    });
  }

  private async place(instance: PlacedInstance, view: ClusterView): Promise<void> {
    const basis = instance.basis!;
    const holders = this.options.cluster.nodesHolding(basis.model.name);
    const alive = (node: NodeId) => view.nodes.find((member) => member.id === node)?.state === "alive";
    const head = alive(instance.node) && holders.includes(instance.node) ? instance.node : holders[0];
    let next: PlacedInstance;
    try {
      if (!head) throw new ConflictError(`no live node holds the model file '${basis.model.name}'`);
      const usable = view.nodes.filter((node) => node.state === "alive").map((node) => node.id);
      // What the user pinned or asked for still holds, within the nodes that are left: a minimum
      // node count that can no longer be met is relaxed rather than leaving the model down.
      const placement = {
        ...basis,
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
