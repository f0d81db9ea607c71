import { describe, expect, it } from "vitest";
import type { PlacedInstance } from "../protocol/cluster.js";
import { NoPlacementError } from "../protocol/errors.js";
import type { NodeId } from "../protocol/ids.js";
import { InstanceSpec } from "../protocol/instance.js";
import { placeReplicas } from "./place-replicas.js";

const spec = InstanceSpec.parse({
  id: "m-abc",
  model: "m",
  contextSize: 1024,
  parallel: 2,
  embeddings: false,
  createdAt: "2026-01-01T00:00:00Z",
});

/** A cluster of `nodes` where each instance takes the first node not excluded. */
const firstFree =
  (nodes: string[]) =>
  (replica: InstanceSpec, excluded: NodeId[]): PlacedInstance => {
    const node = nodes.find((candidate) => !excluded.includes(candidate as NodeId));
    if (!node) throw new NoPlacementError("m", 2, 1, []);
    return { ...replica, node: node as NodeId };
  };

describe("placeReplicas", () => {
  it("puts each replica on a node the others do not use, with ids of their own", () => {
    const placed = placeReplicas(3, spec, firstFree(["a", "b", "c"]));
    expect(placed.map((instance) => [instance.id, instance.node])).toEqual([
      ["m-abc", "a"],
      ["m-abc-r2", "b"],
      ["m-abc-r3", "c"],
    ]);
  });

  it("places as many as fit with auto", () => {
    expect(placeReplicas("auto", spec, firstFree(["a", "b"])).map((instance) => instance.node)).toEqual([
      "a",
      "b",
    ]);
  });

  it("refuses a count that cannot be met, saying how many fit", () => {
    expect(() => placeReplicas(3, spec, firstFree(["a", "b"]))).toThrow(/only 2 of 3 replicas of 'm'/);
  });

  it("passes on the planner's error when not even one fits", () => {
    expect(() => placeReplicas("auto", spec, firstFree([]))).toThrow(NoPlacementError);
  });
});
