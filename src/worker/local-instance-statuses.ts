import type { NodeState } from "../cluster/node-state.js";
import type { EngineEndpoint } from "../engine/llama-server-supervisor.js";
import type { InstanceSummary } from "../protocol/cluster.js";
import { InstanceSpec, type InstanceStatus } from "../protocol/instance.js";
import type { RequestCounts } from "../util/request-counts.js";
import { plannedStatus } from "./spec-for-load.js";

/**
 * The instances headed here, with their plans: those whose engine runs, and suspended ones as
 * FAILED with the reason they are suspended.
 */
export function localInstanceStatuses(state: NodeState): InstanceStatus[] {
  const mine = state.desired.instances.filter((instance) => instance.node === state.self);
  const plans = new Map(mine.map((placed) => [placed.id as string, placed.plan]));
  const running = [...state.local.engines.values()].map(({ status }) => {
    const plan = plans.get(status.id);
    return plan ? { ...status, plan } : status;
  });
  const suspended = mine
    .filter((instance) => instance.suspended !== undefined && !state.local.engines.has(instance.id))
    .map((instance) => ({
      ...plannedStatus(InstanceSpec.parse(instance)),
      plan: instance.plan,
      state: "FAILED" as const,
      reason: instance.suspended!,
    }));
  return [...running, ...suspended];
}

/** The READY engines of `model` headed here that take new requests (not draining), with where to reach them. */
export function readyLocalEngines(
  state: NodeState,
  model: string,
): Array<{ status: InstanceStatus; endpoint: EngineEndpoint }> {
  const draining = new Set<string>(
    state.desired.instances
      .filter((instance) => instance.draining !== undefined)
      .map((instance) => instance.id),
  );
  const result: Array<{ status: InstanceStatus; endpoint: EngineEndpoint }> = [];
  for (const { status, endpoint } of state.local.engines.values()) {
    if (status.model === model && endpoint && !draining.has(status.id)) result.push({ status, endpoint });
  }
  return result;
}

/** This node's instances as heartbeats report them, with the requests this node counted on each. */
export function localInstanceSummaries(state: NodeState, counts?: RequestCounts): InstanceSummary[] {
  return localInstanceStatuses(state).map((status) => ({
    id: status.id,
    model: status.model,
    node: state.self,
    state: status.state,
    reason: status.reason,
    since: status.since,
    stats: status.stats,
    parallel: status.parallel,
    restartsLastHour: status.restartsLastHour ?? 0,
    lastExit: status.lastExit?.slice(0, 1000),
    inFlight: counts?.inFlight(status.id) ?? 0,
    served: counts?.served(status.id) ?? 0,
  }));
}
