import type { NodeState } from "../cluster/node-state.js";
import { remoteInstances } from "../cluster/remote-instances.js";
import type { EngineEndpoint } from "../engine/llama-server-supervisor.js";
import type { NodeId } from "../protocol/ids.js";
import type { InstanceStatus } from "../protocol/instance.js";
import { readyLocalEngines } from "../worker/local-instance-statuses.js";

/** A READY instance as the router weighs it. */
export interface Candidate {
  instanceId: string;
  /** Headed on this node: no extra hop. */
  local: boolean;
  /** Slots (llama-server `-np`). */
  parallel: number;
  /** Requests in flight on it, as far as this node knows. */
  load: number;
}

/** A READY instance of the model that takes new requests, and where to reach it. */
export type ReadyInstance =
  | { local: true; instanceId: string; parallel: number; status: InstanceStatus; endpoint: EngineEndpoint }
  | {
      local: false;
      instanceId: string;
      parallel: number;
      node: NodeId;
      endpoints: string[];
      /** Requests other nodes had in flight on it, as its head last reported. */
      othersInFlight: number;
    };

/** One request, as far as the choice of its instance goes. */
export interface InstanceRequest {
  model: string;
  /** Served here or not at all (a request another node forwarded). */
  localOnly?: boolean;
  /** The instance that holds the conversation's prompt cache (see `conversationKey`). */
  preferred?: string;
  /** This node's own requests in flight on an instance (the router counts them exactly). */
  sentBy: (instanceId: string) => number;
  /** Requests one instance may hold before it is skipped. Default: no limit. */
  maxQueuePerInstance?: number;
}

/** Where a request goes: an instance, or why none (none READY; every one full). */
export type InstanceChoice =
  | { outcome: "chosen"; instance: ReadyInstance & Candidate }
  | { outcome: "full" }
  | { outcome: "none" };

/**
 * The READY instances of `model` that take new requests: engines headed here (`state.local`) and,
 * unless the request must stay here, those headed on live peers (`state.reports`). Draining ones
 * (`state.desired`) take none.
 */
export function readyInstances(state: NodeState, model: string, localOnly = false): ReadyInstance[] {
  const local = readyLocalEngines(state, model).map(
    ({ status, endpoint }): ReadyInstance => ({
      local: true,
      instanceId: status.id,
      parallel: status.parallel,
      status,
      endpoint,
    }),
  );
  if (localOnly) return local;
  const remote = remoteInstances(state, model).map((entry): ReadyInstance => ({ local: false, ...entry }));
  return [...local, ...remote];
}

/**
 * Chooses the instance for one request from the node's state (see `bestCandidate`). An instance that
 * holds `maxQueuePerInstance` requests already is skipped; `full` when every READY one does.
 */
export function chooseInstance(state: NodeState, request: InstanceRequest): InstanceChoice {
  const ready = readyInstances(state, request.model, request.localOnly).map((instance) => ({
    ...instance,
    // This node's own requests, counted exactly, and other nodes' as the head last reported them
    // (a second old at most). Taking the head's whole count instead would count this node's
    // finished requests on it until the next report, and send the next burst to the others.
    load: request.sentBy(instance.instanceId) + (instance.local ? 0 : instance.othersInFlight),
  }));
  if (ready.length === 0) return { outcome: "none" };
  const limit = request.maxQueuePerInstance ?? Number.POSITIVE_INFINITY;
  const candidates = ready.filter((candidate) => candidate.load < limit);
  if (candidates.length === 0) return { outcome: "full" };
  return { outcome: "chosen", instance: bestCandidate(candidates, request.preferred) };
}

/** Free slots, and requests waiting beyond the slots. */
export function slotsOf(candidate: Candidate): { free: number; queued: number } {
  return {
    free: Math.max(0, candidate.parallel - candidate.load),
    queued: Math.max(0, candidate.load - candidate.parallel),
  };
}

/**
 * The best of `candidates` for one request: the one that holds the conversation's prompt cache
 * (`preferred`) while it has a free slot, else the one with the most free slots, then the fewest
 * queued, then one headed here, then the lowest id (so equal choices are stable). Pure;
 * `candidates` must not be empty.
 */
export function bestCandidate<T extends Candidate>(candidates: readonly T[], preferred?: string): T {
  const sticky = candidates.find((candidate) => candidate.instanceId === preferred);
  if (sticky && slotsOf(sticky).free > 0) return sticky;
  let best = candidates[0]!;
  for (const candidate of candidates.slice(1)) {
    if (isBetter(candidate, best)) best = candidate;
  }
  return best;
}

function isBetter(candidate: Candidate, best: Candidate): boolean {
  const a = slotsOf(candidate);
  const b = slotsOf(best);
  if (a.free !== b.free) return a.free > b.free;
  if (a.queued !== b.queued) return a.queued < b.queued;
  if (candidate.local !== best.local) return candidate.local;
  return candidate.instanceId < best.instanceId;
}
