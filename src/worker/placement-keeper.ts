import type { ClusterView, DesiredEvent, DesiredState } from "../protocol/cluster.js";
import type { NodeId } from "../protocol/ids.js";
import type { Logger } from "../util/logger.js";
import { decideRecovery } from "./decide-recovery.js";

export interface PlacementKeeperOptions {
  self: NodeId;
  cluster: {
    readonly isCoordinator: boolean;
    readonly desiredState: DesiredState;
    view(): ClusterView;
    nodesHolding(model: string): NodeId[];
    changeDesired(change: DesiredEvent): Promise<DesiredState>;
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
  private readonly startedAt = Date.now();

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
      const { changes, kept } = decideRecovery(
        {
          view: this.options.cluster.view(),
          nodesHolding: (model) => this.options.cluster.nodesHolding(model),
          lastTried: this.lastTried,
          drainTimeoutMs: this.options.drainTimeoutMs ?? 600_000,
          startedAt: this.startedAt,
        },
        now,
      );
      for (const { instanceId, waitingFor } of kept) {
        this.lastTried.set(instanceId, now);
        if (waitingFor.length > 0)
          this.options.logger.debug(
            { instance: instanceId, suspected: waitingFor },
            "does not fit without a suspected node; waiting for it to return or be removed",
          );
      }
      for (const change of changes) {
        if (change.type !== "instances-removed") this.lastTried.set(change.instanceId, now);
        // Worth a warning beyond the change's own log line: a model stops serving, or requests were cut.
        if (change.type === "instance-suspended")
          this.options.logger.warn({ instance: change.instanceId }, change.reason);
        if (change.type === "instances-removed" && change.reason !== "drained")
          this.options.logger.warn({ instance: change.match }, change.reason);
        // The change itself is published (and logged) as the coordinator applies it.
        await this.options.cluster.changeDesired(change);
      }
    } catch (error) {
      this.options.logger.warn({ err: error }, "placement check failed");
    } finally {
      this.busy = false;
    }
  }
}
