import { describe, expect, it } from "vitest";
import type { LinkMeasurement } from "../protocol/cluster.js";
import type { NodeId } from "../protocol/ids.js";
import { lookupChip } from "./chip-table.js";
import type { PlacementNode } from "./placement-types.js";
import { assumedLink, linkBetween, resolveNode } from "./resolve-nodes.js";

const id = (name: string) => name as NodeId;

describe("lookupChip", () => {
  it.each([
    { text: "Apple M3 Ultra", chip: "Apple M3 Ultra", gigabytes: 819 },
    { text: "Apple M1 Pro", chip: "Apple M1 Pro", gigabytes: 200 },
    { text: "Apple M1", chip: "Apple M1", gigabytes: 68.25 },
    { text: "Apple M4 Max (40 GPU cores)", chip: "Apple M4 Max", gigabytes: 410 },
    { text: "NVIDIA GeForce RTX 4090 (24217 MiB, 23840 MiB free)", chip: "RTX 4090", gigabytes: 1008 },
    { text: "NVIDIA GeForce RTX 4070 Ti SUPER", chip: "RTX 4070 Ti", gigabytes: 504 },
    { text: "NVIDIA GeForce RTX 3090 Ti", chip: "RTX 3090 Ti", gigabytes: 1008 },
    { text: "NVIDIA L40S", chip: "L40S", gigabytes: 864 },
    { text: "NVIDIA L4", chip: "L4", gigabytes: 300 },
    { text: "AMD RYZEN AI MAX+ 395 w/ Radeon 8060S", chip: "Ryzen AI Max", gigabytes: 256 },
  ])("finds $chip in '$text'", ({ text, chip, gigabytes }) => {
    expect(lookupChip(text)).toMatchObject({ chip, bandwidthBytesPerSecond: gigabytes * 1e9 });
  });

  it.each(["Intel(R) Xeon(R) Gold 6338", "Apple M10", "AMD Ryzen 9 7950X"])(
    "knows nothing of '%s'",
    (text) => {
      expect(lookupChip(text)).toBeUndefined();
    },
  );
});

describe("resolveNode", () => {
  const base: PlacementNode = { id: id("n"), name: "n", memoryAvailableBytes: 64e9 };
  it.each([
    {
      name: "an unknown CPU",
      node: { ...base, cpuCores: 4 },
      accelerated: false,
      bandwidth: 40e9,
      flops: 200e9,
    },
    {
      name: "a Mac with Metal",
      node: { ...base, cpuModel: "Apple M2 Max", devices: [{ name: "MTL0", description: "Apple M2 Max" }] },
      accelerated: true,
      bandwidth: 400e9,
    },
    {
      name: "a CUDA card, whose free VRAM bounds the plan",
      node: {
        ...base,
        devices: [{ name: "CUDA0", description: "NVIDIA GeForce RTX 3090 (24576 MiB, 20000 MiB free)" }],
      },
      accelerated: true,
      bandwidth: 936e9,
      capacity: 20000 * 1024 * 1024,
    },
    {
      name: "an unknown GPU backend",
      node: { ...base, backend: "vulkan" as const },
      accelerated: true,
      bandwidth: 300e9,
    },
    {
      name: "a given bandwidth",
      node: {
        ...base,
        cpuModel: "Apple M3 Ultra",
        memoryBandwidthBytesPerSecond: 123e9,
        flopsPerSecond: 1e12,
      },
      accelerated: false,
      bandwidth: 123e9,
      flops: 1e12,
    },
  ])("resolves $name", ({ node, accelerated, bandwidth, flops, capacity }) => {
    const resolved = resolveNode(node);
    expect(resolved).toMatchObject({ accelerated, bandwidthBytesPerSecond: bandwidth });
    if (flops !== undefined) expect(resolved.flopsPerSecond).toBe(flops);
    expect(resolved.capacityBytes).toBe(capacity ?? 64e9);
  });
});

describe("linkBetween", () => {
  const link = (
    from: string,
    to: string,
    rttMs: number,
    throughput: number,
    measuredAt = 1,
  ): LinkMeasurement => ({
    from: id(from),
    to: id(to),
    rttMs,
    throughputBytesPerSecond: throughput,
    measuredAt,
  });
  it.each([
    { name: "nothing measured", links: [], expected: assumedLink },
    {
      name: "one direction",
      links: [link("b", "a", 2, 5e8)],
      expected: { rttSeconds: 0.002, throughputBytesPerSecond: 5e8, measured: true },
    },
    {
      name: "the worse of both directions",
      links: [link("a", "b", 1, 1e9), link("b", "a", 3, 2e9)],
      expected: { rttSeconds: 0.003, throughputBytesPerSecond: 1e9, measured: true },
    },
    {
      name: "the newest measurement",
      links: [link("a", "b", 9, 1e6, 1), link("a", "b", 1, 1e9, 2)],
      expected: { rttSeconds: 0.001, throughputBytesPerSecond: 1e9, measured: true },
    },
    {
      name: "an unmeasured throughput",
      links: [link("a", "b", 1, 0)],
      expected: {
        rttSeconds: 0.001,
        throughputBytesPerSecond: assumedLink.throughputBytesPerSecond,
        measured: true,
      },
    },
  ])("takes $name", ({ links, expected }) => {
    expect(linkBetween(links, id("a"), id("b"))).toEqual(expected);
  });
});
