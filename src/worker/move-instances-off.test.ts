import { describe, expect, it } from "vitest";
import { testViewNode } from "../cluster/test-node-profile.js";
import type { ClusterView, DesiredState, NodeProfile } from "../protocol/cluster.js";
import { PlacedInstance } from "../protocol/cluster.js";
import { ConflictError } from "../protocol/errors.js";
import type { NodeId } from "../protocol/ids.js";
import { planMoveOff } from "./move-instances-off.js";

const id = (name: string) => name as NodeId;
const profile = (version: string): Partial<NodeProfile> => ({
  memoryAvailableBytes: 16 * 1024 ** 3,
  cpuModel: "Intel(R) Xeon(R) CPU",
  cpuCores: 8,
  devices: [],
  engine: { version, backend: "cpu", rpc: true, rdma: false },
});

function view(nodes: Array<[string, string]>, desired: DesiredState): ClusterView {
  return {
    self: id("a"),
    coordinator: id("a"),
    epoch: 1,
    nodes: nodes.map(([name, version]) => testViewNode(id(name), name, profile(version))),
    links: [],
    desired,
    instances: [],
  };
}

const instance = (node: string, extra: Record<string, unknown> = {}) =>
  PlacedInstance.parse({
    id: "stories-1",
    model: "stories",
    contextSize: 512,
    parallel: 1,
    embeddings: false,
    createdAt: "2026-01-01T00:00:00Z",
    node: id(node),
    basis: {
      model: {
        name: "stories",
        sizeBytes: 1_185_376,
        architecture: "llama",
        layerCount: 5,
        bytesPerLayer: 181_760,
        nonLayerBytes: 262_400,
        kvBytesPerToken: 640,
        embeddingLength: 64,
      },
    },
    ...extra,
  });

const desired = (...instances: PlacedInstance[]): DesiredState => ({
  epoch: 1,
  writtenBy: id("a"),
  instances,
  upstreams: [],
  routes: {},
});

describe("planMoveOff", () => {
  it("places a replacement of each instance on b elsewhere, under a new id", () => {
    const state = desired(instance("b"));
    const [move] = planMoveOff(
      view(
        [
          ["a", "1"],
          ["b", "1"],
        ],
        state,
      ),
      state,
      id("b"),
      () => [id("a"), id("b")],
    );
    expect(move!.from.id).toBe("stories-1");
    expect(move!.to.id).toMatch(/^stories-[0-9a-f]{6}$/);
    expect(move!.to.node).toBe("a");
    expect(move!.to.plan!.shards.map((shard) => shard.node)).toEqual(["a"]);
  });

  it("leaves alone instances that do not touch the node, and draining ones", () => {
    const state = desired(instance("a"), instance("b", { id: "other-1", draining: "2026-01-01T00:00:00Z" }));
    expect(
      planMoveOff(
        view(
          [
            ["a", "1"],
            ["b", "1"],
          ],
          state,
        ),
        state,
        id("b"),
        () => [id("a")],
      ),
    ).toEqual([]);
  });

  it("gives up a minimum of nodes the others cannot meet together, as after a failure", () => {
    const state = desired(instance("b", { basis: { ...instance("b").basis!, minNodes: 2 } }));
    const cluster = view(
      [
        ["a", "1"],
        ["b", "1"],
        ["c", "2"],
      ],
      state,
    );
    const [move] = planMoveOff(cluster, state, id("b"), () => [id("a"), id("b")]);
    // c's engine is of another version: a and c cannot split it, so a runs it alone.
    expect(move!.to.plan!.shards.map((shard) => shard.node)).toEqual(["a"]);
  });

  it("refuses an instance it cannot place again", () => {
    const state = desired(instance("b", { basis: undefined }));
    expect(() =>
      planMoveOff(
        view(
          [
            ["a", "1"],
            ["b", "1"],
          ],
          state,
        ),
        state,
        id("b"),
        () => [],
      ),
    ).toThrow(ConflictError);
  });
});
