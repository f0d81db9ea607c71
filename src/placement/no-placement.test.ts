import { describe, expect, it } from "vitest";
import type { LinkMeasurement } from "../protocol/cluster.js";
import { HerdError, NoPlacementError } from "../protocol/errors.js";
import type { NodeId } from "../protocol/ids.js";
import { modelShape, shardMemory } from "./memory-estimate.js";
import type { PlacementInput, PlacementModel, PlacementNode, PlacementRequest } from "./placement-types.js";
import { planPlacement } from "./plan-placement.js";
import { llama8B, llama70B } from "./test-models.js";

const GB = 1e9;
const GiB = 1024 ** 3;

const cpu = (name: string, gigabytes: number): PlacementNode => ({
  id: name as NodeId,
  name,
  memoryAvailableBytes: gigabytes * GB,
  cpuModel: "AMD EPYC",
  cpuCores: 16,
});
const lan = (nodes: PlacementNode[]): LinkMeasurement[] =>
  nodes.flatMap((from) =>
    nodes
      .filter((to) => to !== from)
      .map((to) => ({
        from: from.id,
        to: to.id,
        rttMs: 0.3,
        throughputBytesPerSecond: 110e6,
        measuredAt: 1,
      })),
  );
const input = (
  model: PlacementModel,
  nodes: PlacementNode[],
  request: Partial<PlacementRequest> = {},
): PlacementInput => ({
  model,
  request: { contextSize: 4096, parallel: 1, split: "auto", ...request },
  cluster: { nodes, links: lan(nodes) },
});

function failure(problem: PlacementInput): NoPlacementError {
  try {
    planPlacement(problem);
  } catch (error) {
    if (error instanceof NoPlacementError) return error;
    throw error;
  }
  throw new Error("expected NoPlacementError");
}
const fits = (problem: PlacementInput) => {
  try {
    planPlacement(problem);
    return true;
  } catch (error) {
    if (error instanceof NoPlacementError) return false;
    throw error;
  }
};
const number = (text: string | undefined, pattern: RegExp) => Number(pattern.exec(text ?? "")?.[1]);

describe("NoPlacementError", () => {
  it("reports what the usable nodes need together and what they have", () => {
    const nodes = [cpu("a", 16), cpu("b", 16)];
    const error = failure(input(llama70B, nodes));
    const shape = modelShape(llama70B);
    // An even layer split over both nodes: the head holds the input, the last node the output layer.
    const expected = [true, false].reduce(
      (sum, isHead) =>
        sum +
        shardMemory(shape, 4096, 1, { blockFraction: 0.5, isHead, outputFraction: isHead ? 0 : 1 })
          .totalBytes,
      0,
    );
    expect(error).toBeInstanceOf(HerdError);
    expect(error).toMatchObject({ model: "llama-70b", requiredBytes: expected, availableBytes: 32 * GB });
    expect(error.requiredBytes).toBeGreaterThan(llama70B.sizeBytes);
    expect(error.message).toMatch(
      /model 'llama-70b' does not fit: it needs 4\d\.\d GiB, the usable nodes have 29\.8 GiB free/,
    );
  });

  const cases: Array<{ name: string; problem: PlacementInput; suggestions: RegExp[]; detail?: RegExp }> = [
    {
      name: "a context too long for one node",
      problem: input(llama8B, [cpu("a", 8)], { contextSize: 131072 }),
      suggestions: [/^a context of \d+ tokens instead of 131072 \(-c \d+\)$/, /more free memory on a/],
    },
    {
      name: "too many slots",
      problem: input(llama8B, [cpu("a", 8)], { contextSize: 65536, parallel: 8 }),
      suggestions: [/^\d parallel slots? instead of 8, keeping 8192 tokens each \(-np \d -c \d+\)$/],
    },
    {
      name: "weights too big for every node together",
      problem: input(llama70B, [cpu("a", 16), cpu("b", 16)]),
      suggestions: [/a ~(IQ\d|Q\d)\w*\)$/, /more free memory on/, /^one more node with at least/],
    },
    {
      name: "every node avoided",
      problem: input(llama8B, [cpu("a", 16)], { avoid: ["a" as NodeId] }),
      suggestions: [/^allow a \(left out by 'nodes' or 'avoid'\)$/],
      detail: /every node is left out/,
    },
    {
      name: "more nodes asked for than there are",
      problem: input(llama8B, [cpu("a", 16), cpu("b", 16)], { minNodes: 3 }),
      suggestions: [/^ask for at most 2 nodes \(minNodes\)$/],
      detail: /at least 3 nodes were asked for, 2 are usable/,
    },
  ];

  it.each(cases)("suggests what would fit: $name", ({ problem, suggestions, detail }) => {
    const error = failure(problem);
    for (const pattern of suggestions)
      expect(error.suggestions.some((text) => pattern.test(text))).toBe(true);
    if (detail) expect(error.detail).toMatch(detail);
  });

  it("suggests the largest context that fits, to a multiple of 256", () => {
    const problem = input(llama8B, [cpu("a", 8)], { contextSize: 131072 });
    const size = number(failure(problem).suggestions[0], /-c (\d+)/);
    expect(size % 256).toBe(0);
    expect(fits({ ...problem, request: { ...problem.request, contextSize: size } })).toBe(true);
    expect(fits({ ...problem, request: { ...problem.request, contextSize: size + 256 } })).toBe(false);
  });

  it("suggests the most slots that fit at the same context per slot", () => {
    const problem = input(llama8B, [cpu("a", 8)], { contextSize: 65536, parallel: 8 });
    const text = failure(problem).suggestions.find((suggestion) => suggestion.includes("-np"));
    const [slots, size] = [number(text, /-np (\d+)/), number(text, /-c (\d+)/)];
    expect(fits({ ...problem, request: { ...problem.request, parallel: slots, contextSize: size } })).toBe(
      true,
    );
    const more = { ...problem.request, parallel: slots + 1, contextSize: 8192 * (slots + 1) };
    expect(fits({ ...problem, request: more })).toBe(false);
  });

  it("suggests memory that does make it fit, and not much more than needed", () => {
    const problem = input(llama70B, [cpu("a", 16), cpu("b", 16)]);
    const error = failure(problem);
    const grow = error.suggestions.find((text) => text.includes("more free memory"));
    const extra = number(grow, /about ([\d.]+) GiB more/) * GiB;
    const grown = (bytes: number) => ({
      ...problem,
      cluster: {
        ...problem.cluster,
        nodes: [cpu("a", 16), { ...cpu("b", 16), memoryAvailableBytes: 16 * GB + bytes }],
      },
    });
    expect(grow).toMatch(/on (a|b) \(it has 14\.9 GiB\)/);
    expect(fits(grown(extra + 0.1 * GiB))).toBe(true);
    expect(fits(grown(extra - 0.5 * GiB))).toBe(false);
    // The shortfall is what is missing in total, give or take a block.
    expect(extra).toBeGreaterThan(error.requiredBytes - error.availableBytes - 0.1 * GiB);
    expect(extra).toBeLessThan(error.requiredBytes - error.availableBytes + llama70B.bytesPerLayer + GiB);

    const node = error.suggestions.find((text) => text.startsWith("one more node"));
    const size = number(node, /at least ([\d.]+) GiB/) * GiB;
    const nodes = [cpu("a", 16), cpu("b", 16), { ...cpu("c", 0), memoryAvailableBytes: size + 0.1 * GiB }];
    expect(fits({ ...problem, cluster: { nodes, links: lan(nodes) } })).toBe(true);
  });

  it.each([
    ["", llama70B],
    [" (its own output matrix)", { ...llama70B, outputWeightBytes: llama70B.nonLayerBytes / 2 }],
  ])("names a quantization small enough, which then fits%s", (_, model) => {
    const problem = input(model, [cpu("a", 16), cpu("b", 16)]);
    const text = failure(problem).suggestions.find((suggestion) =>
      suggestion.startsWith("a smaller quantization"),
    );
    const bits = number(text, /at most ([\d.]+) bits per weight/);
    expect(bits).toBeGreaterThan(2);
    expect(bits).toBeLessThan(4.5);
    const share = (bits - 0.05) / 4.5;
    const smaller = {
      ...model,
      sizeBytes: model.sizeBytes * share,
      bytesPerLayer: model.bytesPerLayer * share,
      nonLayerBytes: model.nonLayerBytes * share,
      ...(model.outputWeightBytes !== undefined && { outputWeightBytes: model.outputWeightBytes * share }),
    };
    expect(fits({ ...problem, model: smaller })).toBe(true);
  });
});
