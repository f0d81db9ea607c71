import type { ClusterView, DesiredState } from "../protocol/cluster.js";
import type { NodeEvent } from "../protocol/events.js";

/** The cluster, as far as the recovery rule needs it. */
export interface RecoveryCluster {
  view(): ClusterView;
  readonly desiredState: DesiredState;
}

/**
 * The router's recovery rule: a request for a model that is down waits for it when the model is
 * recovering, instead of failing. Models that served since this node started count as recovering.
 */
export function recoveringModels(options: {
  cluster: RecoveryCluster;
  /** Registers a listener for this node's events. */
  onEvent: (listener: (event: NodeEvent) => void) => void;
  /** The models this node holds (and announces). */
  localModels: () => string[];
}): (model: string) => boolean {
  const { cluster } = options;
  const servedModels = new Set<string>();
  options.onEvent((event) => {
    if (event.type === "instance-state-changed" && event.state === "READY") servedModels.add(event.model);
  });
  return (model) => {
    for (const summary of cluster.view().instances) {
      if (summary.state === "READY") servedModels.add(summary.model);
    }
    // Wait for a model that served before (it is recovering), or one this node does not hold and
    // another node heads (the first heartbeat announcing it READY may still be on its way).
    const placed = cluster.desiredState.instances.some(
      (instance) => instance.model === model && instance.suspended === undefined,
    );
    return placed && (servedModels.has(model) || !options.localModels().some((name) => name === model));
  };
}
