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

/** Free slots, and requests waiting beyond the slots. */
export function slotsOf(candidate: Candidate): { free: number; queued: number } {
  return {
    free: Math.max(0, candidate.parallel - candidate.load),
    queued: Math.max(0, candidate.load - candidate.parallel),
  };
}

/**
 * Chooses the instance for one request: the one that holds the conversation's prompt cache (`preferred`)
 * while it has a free slot, else the one with the most free slots, then the fewest queued, then one
 * headed here, then the lowest id (so equal choices are stable). Pure; `candidates` must not be empty.
 */
export function chooseInstance<T extends Candidate>(candidates: readonly T[], preferred?: string): T {
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
