import { describe, expect, it } from "vitest";
import type { InstancePlan } from "../protocol/cluster.js";
import type { NodeId } from "../protocol/ids.js";
import { checkEngineMemory } from "./engine-memory-check.js";

const [a, b, c] = ["a", "b", "c"] as NodeId[];
const mib = 2 ** 20;

describe("checkEngineMemory", () => {
  it("matches the head's buffers and each RPC server's to their nodes", () => {
    const plan: InstancePlan = {
      head: a!,
      splitMode: "layer",
      shards: [
        { node: a!, layerStart: 0, layerEnd: 2, fraction: 0.4, plannedBytes: 300 * mib },
        { node: b!, layerStart: 2, layerEnd: 4, fraction: 0.4, plannedBytes: 200 * mib },
        { node: c!, layerStart: 4, layerEnd: 5, fraction: 0.2, plannedBytes: 120 * mib },
      ],
      rpcNodes: [b!, c!],
      tensorSplit: [2, 2],
      gpuLayers: 4,
      rpcTransport: "tunnel",
    };
    const checks = checkEngineMemory(plan, [
      { weightBytes: 250 * mib, kvBytes: 10 * mib, computeBytes: 20 * mib },
      { rpcIndex: 1, weightBytes: 100 * mib, kvBytes: 5 * mib, computeBytes: 10 * mib },
      { rpcIndex: 0, weightBytes: 180 * mib, kvBytes: 10 * mib, computeBytes: 5 * mib },
    ]);
    expect(checks).toEqual([
      { node: a, plannedBytes: 300 * mib, reportedBytes: 280 * mib },
      { node: b, plannedBytes: 200 * mib, reportedBytes: 195 * mib },
      { node: c, plannedBytes: 120 * mib, reportedBytes: 115 * mib },
    ]);
  });

  it("sums a CPU head's own buffers and its loopback RPC server's", () => {
    const plan: InstancePlan = {
      head: a!,
      splitMode: "tensor",
      shards: [
        { node: a!, layerStart: 0, layerEnd: 5, fraction: 0.5, plannedBytes: 100 },
        { node: b!, layerStart: 0, layerEnd: 5, fraction: 0.5, plannedBytes: 80 },
      ],
      rpcNodes: [a!, b!],
      tensorSplit: [1, 1],
      gpuLayers: 6,
      rpcTransport: "tunnel",
    };
    const checks = checkEngineMemory(plan, [
      { weightBytes: 20, kvBytes: 0, computeBytes: 5 },
      { rpcIndex: 0, weightBytes: 60, kvBytes: 5, computeBytes: 5 },
      { rpcIndex: 1, weightBytes: 60, kvBytes: 5, computeBytes: 5 },
    ]);
    expect(checks).toEqual([
      { node: a, plannedBytes: 100, reportedBytes: 95 },
      { node: b, plannedBytes: 80, reportedBytes: 70 },
    ]);
  });
});
