import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { applyDesiredChange } from "../cluster/apply-desired-change.js";
import type { ClusterView, DesiredEvent, DesiredState } from "../protocol/cluster.js";
import { InstanceSummary, PlacedInstance } from "../protocol/cluster.js";
import type { NodeId } from "../protocol/ids.js";
import { silentLogger } from "../util/logger.js";
import { PlacementKeeper } from "./placement-keeper.js";

type NodeState = ClusterView["nodes"][number]["state"];

const a = "node-a" as NodeId;
const b = "node-b" as NodeId;

const instance = PlacedInstance.parse({
  id: "stories-1",
  model: "stories",
  contextSize: 256,
  parallel: 1,
  embeddings: false,
  createdAt: "2026-01-01T00:00:00Z",
  node: b,
  basis: {
    model: {
      name: "stories",
      sizeBytes: 1_000_000,
      architecture: "llama",
      layerCount: 5,
      bytesPerLayer: 150_000,
      nonLayerBytes: 250_000,
      kvBytesPerToken: 640,
      embeddingLength: 64,
      expertCount: 0,
      expertUsedCount: 0,
      expertBytesPerLayer: 0,
    },
    split: "auto",
    rpcTransport: "tunnel",
  },
});

/** A coordinator `a` whose view the test sets, recording every change the keeper asks for. */
function coordinator() {
  const states = new Map<NodeId, NodeState>([
    [a, "alive"],
    [b, "alive"],
  ]);
  const instances: InstanceSummary[] = [];
  const changes: DesiredEvent[] = [];
  const desired: DesiredState = { epoch: 1, writtenBy: a, instances: [instance], upstreams: [], routes: {} };
  const cluster = {
    isCoordinator: true,
    desiredState: desired,
    view: () =>
      ({
        self: a,
        coordinator: a,
        epoch: desired.epoch,
        nodes: [...states].map(([id, state]) => ({ id, state, profile: null })),
        links: [],
        desired,
        instances,
      }) as unknown as ClusterView,
    // Only b holds the model's file, and only while it is alive.
    nodesHolding: () => (states.get(b) === "alive" ? [b] : []),
    changeDesired: async (change: DesiredEvent) => {
      changes.push(change);
      desired.instances = applyDesiredChange(desired, change).instances;
      return desired;
    },
  };
  const keeper = new PlacementKeeper({ self: a, cluster, logger: silentLogger(), intervalMs: 100 });
  keeper.start();
  return { keeper, states, instances, changes };
}

const summary = (state: InstanceSummary["state"]) =>
  InstanceSummary.parse({ id: instance.id, model: instance.model, node: b, state, reason: "", since: "" });

describe("PlacementKeeper", () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it("leaves an instance alone while its head is only suspected and last said READY, or said nothing", async () => {
    const { keeper, states, instances, changes } = coordinator();
    states.set(b, "suspected");
    await vi.advanceTimersByTimeAsync(1000);
    instances.push(summary("READY"));
    await vi.advanceTimersByTimeAsync(1000);
    expect(changes).toEqual([]);
    keeper.dispose();
  });

  it("does not suspend an instance while a node it used may come back, and does once the node is gone", async () => {
    const { keeper, states, instances, changes } = coordinator();
    instances.push(summary("FAILED"));
    states.set(b, "suspected");
    await vi.advanceTimersByTimeAsync(2000);
    expect(changes).toEqual([]);
    states.set(b, "gone");
    await vi.advanceTimersByTimeAsync(1000);
    expect(changes).toEqual([
      {
        type: "instance-suspended",
        instanceId: instance.id,
        reason: "does not fit on the nodes left: no live node holds the model file 'stories'",
      },
    ]);
    keeper.dispose();
  });
});
