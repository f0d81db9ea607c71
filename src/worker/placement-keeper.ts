import type { ClusterView, DesiredChange, DesiredState } from "../protocol/cluster.js";
import type { NodeId } from "../protocol/ids.js";
import type { Logger } from "../util/logger.js";
import { decideRecovery, type RecoveryAction } from "./decide-recovery.js";

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

/**
 * The coordinator's recovery loop: what to do is `decideRecovery`'s; this carries it out, as changes
 * to the desired state. It checks on a timer because a drain ends with time passing (no event
 * tells it), and a suspended instance is tried again as free memory moves.
 */
export class PlacementKeeper {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private readonly lastTried = new Map<string, number>();

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
      const now = Date.now();
      const actions = decideRecovery(
        {
          view: this.options.cluster.view(),
          nodesHolding: (model) => this.options.cluster.nodesHolding(model),
          lastTried: this.lastTried,
          drainTimeoutMs: this.options.drainTimeoutMs ?? 600_000,
        },
        now,
      );
      for (const action of actions) {
        if (action.type !== "unload") this.lastTried.set(action.instance.id, now);
        await this.carryOut(action);
      }
    } catch (error) {
      this.options.logger.warn({ err: error }, "placement check failed");
    } finally {
      this.busy = false;
    }
  }

  private async carryOut(action: RecoveryAction): Promise<void> {
    const { logger, cluster } = this.options;
    const instance = action.instance;
    switch (action.type) {
      case "unload":
        if (action.timedOut)
          logger.warn(
            { instance: instance.id },
            "drain timed out with requests still in flight; unloading anyway",
          );
        logger.info({ instance: instance.id }, `drained ${instance.id}; unloading it`);
        await cluster.changeDesired({ op: "remove-instances", match: instance.id });
        return;
      case "place":
        logger.info(
          { instance: instance.id, head: instance.node, shards: instance.plan?.shards.length },
          `placed ${instance.model} again over the nodes that remain`,
        );
        await cluster.changeDesired({ op: "update-instance", instance });
        return;
      case "suspend":
        logger.warn({ instance: instance.id }, action.reason);
        await cluster.changeDesired({ op: "update-instance", instance });
        return;
      case "keep":
        if (action.suspected.length > 0)
          logger.debug(
            { instance: instance.id, suspected: action.suspected },
            `${instance.model} does not fit without a suspected node; waiting for it to return or be removed`,
          );
        return;
    }
  }
}
