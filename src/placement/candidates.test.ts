import { describe, expect, it } from "vitest";
import type { NodeId } from "../protocol/ids.js";
import { candidateSets } from "./candidates.js";
import type { PlacementModel, PlacementNode } from "./placement-types.js";
import { planPlacement } from "./plan-placement.js";

const sizes = (sets: number[][]) => sets.map((set) => set.length);

describe("candidateSets", () => {
  it.each([
    { count: 5, minNodes: 1, maxNodes: 5, sets: 31 },
    { count: 5, minNodes: 2, maxNodes: 3, sets: 20 },
    { count: 10, minNodes: 1, maxNodes: 10, sets: 1023 },
    { count: 3, minNodes: 3, maxNodes: 3, sets: 1 },
    { count: 2, minNodes: 3, maxNodes: 2, sets: 0 },
  ])("tries every subset of $minNodes..$maxNodes of $count nodes", ({ count, minNodes, maxNodes, sets }) => {
    const visited = candidateSets(Array(count).fill(1), minNodes, maxNodes, () => 0);
    expect(visited).toHaveLength(sets);
    expect(new Set(visited.map((set) => set.join())).size).toBe(sets);
    for (const size of sizes(visited)) expect(size >= minNodes && size <= maxNodes).toBe(true);
  });

  it("stops at the first set that fits when asked", () => {
    const visited = candidateSets([1, 1, 1, 1], 1, 4, (set) => (set.length >= 2 ? 0 : Infinity), {
      stopWhenFits: true,
    });
    expect(visited.at(-1)).toHaveLength(2);
    expect(visited).toHaveLength(5);
  });

  it("searches greedily beyond ten nodes: singles, strongest prefixes, then local steps", () => {
    // Node i has strength i; a set fits with strength 40 or more; fewer nodes score better.
    const strength = Array.from({ length: 16 }, (_, index) => index);
    const total = (set: readonly number[]) => set.reduce((sum, index) => sum + strength[index]!, 0);
    const visited = candidateSets(strength, 1, 16, (set) => (total(set) >= 40 ? set.length : Infinity));
    expect(visited.length).toBeLessThan(400);
    expect(visited).toContainEqual([15]);
    expect(visited).toContainEqual([13, 14, 15]);
    const fitting = visited.filter((set) => total(set) >= 40);
    expect(Math.min(...sizes(fitting))).toBe(3);
  });
});

describe("planPlacement on a large cluster", () => {
  const model: PlacementModel = {
    name: "dense-70b",
    architecture: "llama",
    sizeBytes: 39.4e9,
    layerCount: 80,
    bytesPerLayer: 0.478e9,
    nonLayerBytes: 1.18e9,
    kvBytesPerToken: 327680,
    embeddingLength: 8192,
    expertCount: 0,
    expertUsedCount: 0,
    expertBytesPerLayer: 0,
  };
  const node = (index: number, gigabytes: number, cpuModel = "Intel Xeon"): PlacementNode => ({
    id: `node-${String(index).padStart(2, "0")}` as NodeId,
    name: `node-${index}`,
    memoryAvailableBytes: gigabytes * 1e9,
    cpuModel,
  });

  it("finds a plan among 14 small nodes without trying every subset", () => {
    const nodes = Array.from({ length: 14 }, (_, index) => node(index, 8));
    const started = performance.now();
    const plan = planPlacement({
      model,
      request: { contextSize: 4096, parallel: 1, split: "auto" },
      cluster: { nodes, links: [] },
    });
    expect(performance.now() - started).toBeLessThan(5000);
    // 8 GB nodes hold ~14 blocks each once their fixed buffers are in: 6 of them are needed.
    expect(plan.shards).toHaveLength(6);
    expect(plan.shards.reduce((sum, shard) => sum + shard.layerEnd - shard.layerStart, 0)).toBe(80);
  });

  it("prefers the strong nodes of a mixed cluster", () => {
    const nodes = [
      ...Array.from({ length: 10 }, (_, index) => node(index, 16)),
      node(10, 64, "Apple M2 Ultra"),
      node(11, 64, "Apple M2 Ultra"),
    ];
    const plan = planPlacement({
      model,
      request: { contextSize: 4096, parallel: 1, split: "auto" },
      cluster: { nodes, links: [] },
    });
    expect(plan.shards.map((shard) => shard.node)).toEqual(["node-10"]);
  });
});
