import { describe, expect, it } from "vitest";
import { type DesiredEvent, type DesiredState, InstancePlan, PlacedInstance } from "../protocol/cluster.js";
import { InstanceId, NodeId } from "../protocol/ids.js";
import { applyDesiredChange } from "./apply-desired-change.js";
import { describeDesiredChange } from "./describe-desired-change.js";

const [a, b, c] = ["node-a", "node-b", "node-c"].map((id) => NodeId.parse(id)) as [NodeId, NodeId, NodeId];
const plan = (head: NodeId, ...shards: NodeId[]) =>
  InstancePlan.parse({
    head,
    splitMode: shards.length > 1 ? "layer" : "none",
    shards: shards.map((node, index) => ({ node, layerStart: index, layerEnd: index + 1, fraction: 0.5 })),
  });
const instance = (id: string, model: string, draining?: string) =>
  PlacedInstance.parse({
    id,
    model,
    contextSize: 512,
    parallel: 1,
    embeddings: false,
    createdAt: "2026-01-01T00:00:00Z",
    node: a,
    plan: plan(a, a, b),
    draining,
  });
const state = (epoch: number, instances: PlacedInstance[]): DesiredState => ({
  epoch,
  writtenBy: a,
  instances,
  upstreams: [],
  routes: {},
});

/** What `/herd/v1/events` shows once `change` made the next epoch out of `before`. */
function published(before: DesiredState, change: DesiredEvent) {
  return describeDesiredChange(change, before, {
    ...before,
    ...applyDesiredChange(before, change),
    epoch: before.epoch + 1,
  });
}

describe("describeDesiredChange", () => {
  it.each<{ situation: string; before: DesiredState; change: DesiredEvent; expected: unknown }>([
    {
      situation: "a model is loaded over two nodes",
      before: state(0, []),
      change: { type: "instance-placed", instance: instance("m-1", "m"), cause: "load" },
      expected: {
        type: "instance-placed",
        epoch: 1,
        instanceId: "m-1",
        model: "m",
        head: a,
        nodes: [a, b],
        cause: "load",
      },
    },
    {
      situation: "recovery places it again without the node that left",
      before: state(1, [instance("m-1", "m")]),
      change: { type: "instance-replanned", instanceId: InstanceId.parse("m-1"), node: c, plan: plan(c, c) },
      expected: { type: "instance-replanned", epoch: 2, instanceId: "m-1", model: "m", head: c, nodes: [c] },
    },
    {
      situation: "it no longer fits",
      before: state(1, [instance("m-1", "m")]),
      change: { type: "instance-suspended", instanceId: InstanceId.parse("m-1"), reason: "does not fit" },
      expected: {
        type: "instance-suspended",
        epoch: 2,
        instanceId: "m-1",
        model: "m",
        reason: "does not fit",
      },
    },
    {
      situation: "a drain starts",
      before: state(1, [instance("m-1", "m"), instance("n-1", "n")]),
      change: { type: "drain-started", instanceIds: [InstanceId.parse("n-1")], since: "T1" },
      expected: {
        type: "drain-started",
        epoch: 2,
        instances: [{ instanceId: "n-1", model: "n" }],
        since: "T1",
      },
    },
    {
      situation: "a model with two replicas is unloaded",
      before: state(1, [instance("m-1", "m"), instance("m-2", "m"), instance("n-1", "n")]),
      change: { type: "instances-removed", match: "m", reason: "unloaded" },
      expected: {
        type: "instances-removed",
        epoch: 2,
        instances: [
          { instanceId: "m-1", model: "m" },
          { instanceId: "m-2", model: "m" },
        ],
        reason: "unloaded",
      },
    },
    {
      situation: "a model is routed to an upstream",
      before: state(1, []),
      change: { type: "routes-set", routes: { m: "upstream" } },
      expected: { type: "routes-set", epoch: 2, routes: { m: "upstream" } },
    },
  ])("$situation", ({ before, change, expected }) => {
    expect(published(before, change)).toEqual(expected);
  });
});
