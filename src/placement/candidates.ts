/** Up to this many usable nodes every subset is tried (1023 sets for 10); beyond, a greedy search. */
export const exhaustiveLimit = 10;

/** How good a node set is, lower is better; `Infinity` when nothing fits on it. */
export type SetScore = (set: readonly number[]) => number;

export interface SearchOptions {
  /** Stop at the first set that fits (a yes/no question). Default false. */
  stopWhenFits?: boolean;
  /** Default `exhaustiveLimit`. */
  exhaustiveUpTo?: number;
  /** Improve the greedy answer by dropping, adding and swapping nodes. Default true. */
  localSearch?: boolean;
}

/**
 * The node sets to evaluate, as index lists into the usable nodes (which the caller orders).
 * Up to `exhaustiveLimit` nodes: every subset of `minNodes..maxNodes` nodes. Beyond: each single node,
 * then the nodes added in order of `strength` (memory × bandwidth) until it fits and on to `maxNodes`,
 * then from the best of those, steps that drop one node, add or swap in one of the 8 strongest others,
 * while the score improves.
 * `score` is called once per set it visits; the visited sets are returned in order.
 */
export function candidateSets(
  strength: readonly number[],
  minNodes: number,
  maxNodes: number,
  score: SetScore,
  { stopWhenFits = false, exhaustiveUpTo = exhaustiveLimit, localSearch = true }: SearchOptions = {},
): number[][] {
  const count = strength.length;
  const visited = new Map<string, { set: number[]; value: number }>();
  const visit = (set: number[]): number => {
    const sorted = [...set].sort((a, b) => a - b);
    const key = sorted.join(",");
    const known = visited.get(key);
    if (known) return known.value;
    const value = score(sorted);
    visited.set(key, { set: sorted, value });
    return value;
  };
  const done = () =>
    stopWhenFits && [...visited.values()].some((entry) => entry.value < Number.POSITIVE_INFINITY);

  if (count <= exhaustiveUpTo) {
    for (let size = minNodes; size <= maxNodes && !done(); size++) {
      for (let mask = 1; mask < 1 << count && !done(); mask++) {
        if (popCount(mask) !== size) continue;
        visit(indices(mask, count));
      }
    }
    return [...visited.values()].map((entry) => entry.set);
  }

  const order = strength
    .map((value, index) => ({ value, index }))
    .sort((a, b) => b.value - a.value || a.index - b.index)
    .map((entry) => entry.index);
  if (minNodes <= 1) for (const index of order) if (!done()) visit([index]);
  for (let size = Math.max(2, minNodes); size <= maxNodes && !done(); size++) visit(order.slice(0, size));

  if (visited.size === 0) return [];
  let best = [...visited.values()].reduce((a, b) => (b.value < a.value ? b : a));
  for (let round = 0; localSearch && round < 8 && !done(); round++) {
    const members = new Set(best.set);
    const outside = order.filter((index) => !members.has(index));
    const neighbours: number[][] = [];
    if (best.set.length > minNodes)
      for (const drop of best.set) neighbours.push(best.set.filter((i) => i !== drop));
    if (best.set.length < maxNodes)
      for (const add of outside.slice(0, 8)) neighbours.push([...best.set, add]);
    for (const drop of best.set)
      for (const add of outside.slice(0, 8)) neighbours.push([...best.set.filter((i) => i !== drop), add]);
    let improved = false;
    for (const neighbour of neighbours) {
      if (done()) break;
      const value = visit(neighbour);
      if (value < best.value) {
        best = { set: [...neighbour].sort((a, b) => a - b), value };
        improved = true;
      }
    }
    if (!improved) break;
  }
  return [...visited.values()].map((entry) => entry.set);
}

function popCount(mask: number): number {
  let bits = 0;
  for (let value = mask; value > 0; value >>= 1) bits += value & 1;
  return bits;
}

function indices(mask: number, count: number): number[] {
  const result: number[] = [];
  for (let index = 0; index < count; index++) if (mask & (1 << index)) result.push(index);
  return result;
}
