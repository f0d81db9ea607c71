import { describe, expect, it } from "vitest";
import type { NodeId } from "../protocol/ids.js";
import {
  bandwidthEfficiency,
  type CostDevice,
  layerDispatchSeconds,
  predictSpeed,
  rpcFixedSeconds,
  rpcRoundTripsPerDevice,
} from "./cost-model.js";
import { modelShape } from "./memory-estimate.js";
import type { PlacementModel, PlacementNode } from "./placement-types.js";
import { planPlacement } from "./plan-placement.js";
import { assumedLink, type Link, type ResolvedNode } from "./resolve-nodes.js";

const GB = 1e9;

/**
 * Qwen3-235B-A22B at 4.5 bits per weight: 94 blocks of 128 experts (3 × 4096 × 1536 each, 8 used),
 * attention 64 query / 4 KV heads of 128, a 151936-token vocabulary. ~132 GB, ~22B active.
 */
const expertBytes = 128 * 3 * 4096 * 1536 * 0.5625;
const qwenBlockBytes = expertBytes + (2 * 4096 * 8192 + 2 * 4096 * 512 + 4096 * 128) * 0.5625;
const qwen235B: PlacementModel = {
  name: "Qwen3-235B-A22B",
  architecture: "qwen3moe",
  sizeBytes: 94 * qwenBlockBytes + 2 * 151936 * 4096 * 0.5625,
  parameterCount: 235e9,
  layerCount: 94,
  bytesPerLayer: qwenBlockBytes,
  nonLayerBytes: 2 * 151936 * 4096 * 0.5625,
  kvBytesPerToken: 94 * 4 * 256 * 2,
  embeddingLength: 4096,
  headCount: 64,
  expertCount: 128,
  expertUsedCount: 8,
  expertBytesPerLayer: expertBytes,
};

const dense: PlacementModel = {
  name: "dense",
  architecture: "llama",
  sizeBytes: 40 * GB,
  layerCount: 80,
  bytesPerLayer: 0.49 * GB,
  nonLayerBytes: 0.8 * GB,
  kvBytesPerToken: 327680,
  embeddingLength: 8192,
  expertCount: 0,
  expertUsedCount: 0,
  expertBytesPerLayer: 0,
};

const resolved = (name: string, gigabytesPerSecond: number): ResolvedNode => ({
  id: name as NodeId,
  name,
  capacityBytes: 512 * GB,
  bandwidthBytesPerSecond: gigabytesPerSecond * GB,
  flopsPerSecond: 20e12,
  accelerated: true,
  chip: "given",
});
const local: Link = { rttSeconds: 0, throughputBytesPerSecond: Number.POSITIVE_INFINITY, measured: true };
const device = (node: ResolvedNode, blockFraction: number, extra: Partial<CostDevice> = {}): CostDevice => ({
  node,
  link: local,
  remote: false,
  blockFraction,
  outputFraction: 0,
  ...extra,
});
const remote = (node: ResolvedNode, blockFraction: number, link: Link = assumedLink): CostDevice =>
  device(node, blockFraction, { remote: true, link });

describe("predictSpeed", () => {
  const shape = modelShape(dense);
  const fast = resolved("fast", 800);
  const oneNodeSeconds =
    (80 * 0.49 * GB + 0.4 * GB) / (800 * GB * bandwidthEfficiency) + 80 * layerDispatchSeconds;

  it("reads every weight once per token on one node", () => {
    const result = predictSpeed(shape, "none", [device(fast, 1, { outputFraction: 1 })]);
    expect(1 / result.decodeTokensPerSecond).toBeCloseTo(oneNodeSeconds, 12);
    expect(result.networkSeconds).toBe(0);
  });

  it("adds a hop per RPC device: round trips, a fixed cost and the activations", () => {
    const result = predictSpeed(shape, "layer", [
      remote(fast, 0.5),
      device(fast, 0.5, { outputFraction: 1 }),
    ]);
    const hop =
      rpcRoundTripsPerDevice * assumedLink.rttSeconds +
      rpcFixedSeconds.accelerated +
      (2 * 4 * 8192) / assumedLink.throughputBytesPerSecond;
    expect(result.networkSeconds).toBeCloseTo(hop, 12);
    expect(1 / result.decodeTokensPerSecond).toBeCloseTo(oneNodeSeconds + hop, 12);
  });

  it("pays off only when the added node's bandwidth saves more than its hop", () => {
    const slow = resolved("slow", 40);
    const alone = predictSpeed(shape, "none", [device(slow, 1, { outputFraction: 1 })]);
    const helped = predictSpeed(shape, "layer", [
      remote(fast, 0.9),
      device(slow, 0.1, { outputFraction: 1 }),
    ]);
    expect(helped.decodeTokensPerSecond).toBeGreaterThan(3 * alone.decodeTokensPerSecond);
  });

  it("reads in parallel with tensor split but pays two all-reduces per block", () => {
    const link = (rttMs: number): Link => ({
      rttSeconds: rttMs / 1000,
      throughputBytesPerSecond: 10 * GB,
      measured: true,
    });
    const tensor = (rttMs: number) =>
      predictSpeed(shape, "tensor", [
        device(fast, 0.5, { outputFraction: 0.5 }),
        remote(fast, 0.5, link(rttMs)),
      ]);
    const layer = predictSpeed(shape, "layer", [
      remote(fast, 0.5, link(0.01)),
      device(fast, 0.5, { outputFraction: 1 }),
    ]);
    expect(tensor(0.01).decodeTokensPerSecond).toBeGreaterThan(1.5 * layer.decodeTokensPerSecond);
    expect(tensor(0.3).decodeTokensPerSecond).toBeLessThan(layer.decodeTokensPerSecond);
    const extra = 1 / tensor(0.11).decodeTokensPerSecond - 1 / tensor(0.01).decodeTokensPerSecond;
    // 2 × 80 all-reduces of one butterfly step with 2 copies, and the dispatch's round trips, each 0.1 ms longer.
    expect(extra).toBeCloseTo((2 * 80 * 2 + rpcRoundTripsPerDevice) * 0.1e-3, 9);
  });

  it("counts only the routed experts of a Mixture-of-Experts block", () => {
    const qwen = modelShape(qwen235B);
    expect(qwen.layerReadBytes).toBeCloseTo(qwenBlockBytes - expertBytes + (expertBytes * 8) / 128, 3);
    const active = (94 * qwen.layerReadBytes + qwen.outputBytes) / qwen.bytesPerParameter;
    expect(active / 1e9).toBeGreaterThan(20);
    expect(active / 1e9).toBeLessThan(24);
  });
});

const macStudio = (name: string): PlacementNode => ({
  id: name as NodeId,
  name,
  memoryAvailableBytes: 512 * GB,
  cpuModel: "Apple M3 Ultra",
  devices: [
    { name: "CPU", description: "Apple M3 Ultra, 32 cores" },
    { name: "MTL0", description: "Apple M3 Ultra" },
  ],
  backend: "metal",
});
const macStudios = ["s1", "s2", "s3", "s4"].map(macStudio);
/** Thunderbolt / 10GbE-like TCP: 0.3 ms round trip, 1 GB/s. */
const tbLinks = macStudios.flatMap((from) =>
  macStudios
    .filter((to) => to !== from)
    .map((to) => ({ from: from.id, to: to.id, rttMs: 0.3, throughputBytesPerSecond: 1e9, measuredAt: 1 })),
);
const request = (nodes?: number) => ({
  contextSize: 4096,
  parallel: 1,
  split: "auto" as const,
  ...(nodes !== undefined && { minNodes: nodes, maxNodes: nodes }),
});

/** Published llama.cpp RPC decode speeds for Qwen3-235B-A22B (Q4) on M3 Ultra Mac Studios. */
const published = [
  { nodes: 1, tokensPerSecond: 20.4 },
  { nodes: 2, tokensPerSecond: 18.1 },
  { nodes: 4, tokensPerSecond: 15.2 },
];

describe("calibration: Qwen3-235B-A22B on M3 Ultra Mac Studios over TCP", () => {
  const predicted = published.map(({ nodes }) =>
    planPlacement({
      model: qwen235B,
      request: request(nodes),
      cluster: { nodes: macStudios, links: tbLinks },
    }),
  );

  it.each(published.map((entry, index) => ({ ...entry, index })))(
    "predicts $tokensPerSecond tokens/s on $nodes node(s) within 30%",
    ({ tokensPerSecond, index, nodes }) => {
      const plan = predicted[index]!;
      expect(plan.shards).toHaveLength(nodes);
      expect(plan.predicted.decodeTokensPerSecond / tokensPerSecond).toBeGreaterThan(0.7);
      expect(plan.predicted.decodeTokensPerSecond / tokensPerSecond).toBeLessThan(1.3);
    },
  );

  it("predicts slower decoding with every node added, so it chooses one", () => {
    const speeds = predicted.map((plan) => plan.predicted.decodeTokensPerSecond);
    expect(speeds[0]).toBeGreaterThan(speeds[1]!);
    expect(speeds[1]).toBeGreaterThan(speeds[2]!);
    const free = planPlacement({
      model: qwen235B,
      request: request(),
      cluster: { nodes: macStudios, links: tbLinks },
    });
    expect(free.shards).toHaveLength(1);
    expect(free.alternatives.filter((alternative) => alternative.fits).length).toBeGreaterThan(0);
  });
});
