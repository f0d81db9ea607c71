import { describe, expect, it } from "vitest";
import type { PlanView } from "../client/herd-client.js";
import type { ClusterView } from "../protocol/cluster.js";
import type { RpcRoute } from "../protocol/instance-plan.js";
import { fasterPlacementNotes } from "./faster-placement.js";

const host1 = "10000000-0000-4000-8000-000000000000";
const host2 = "20000000-0000-4000-8000-000000000000";

const cable: RpcRoute = {
  transport: "direct",
  host: "10.9.0.2",
  path: { from: "10.9.0.1", to: "10.9.0.2", kind: "ethernet", private: true, rdmaPossible: false },
};
const tunnel: RpcRoute = { transport: "tunnel" };

/** host1 heads a READY split of stories260K with a shard on host2, reached by `route`. */
function viewWith(route: RpcRoute, predicted: number, state = "READY"): ClusterView {
  // Only the fields the note reads.
  return {
    nodes: [
      { id: host1, name: "host1" },
      { id: host2, name: "host2" },
    ],
    desired: {
      instances: [
        {
          id: "stories260K-1",
          model: "stories260K",
          node: host1,
          plan: {
            head: host1,
            rpcNodes: [host2],
            rpcRoutes: [route],
            predictedDecodeTokensPerSecond: predicted,
          },
        },
      ],
    },
    instances: [{ id: "stories260K-1", state }],
  } as unknown as ClusterView;
}

function planWith(route: RpcRoute, predicted: number): PlanView {
  return {
    head: host1,
    splitMode: "layer",
    shards: [],
    rpcNodes: [host2],
    rpcRoutes: [route],
    predicted: { decodeTokensPerSecond: predicted, prefillTokensPerSecond: 1000 },
  };
}

describe("fasterPlacementNotes", () => {
  it("says so when the plan reaches a shard over a cable that the running instance reaches through the tunnel", () => {
    const notes = fasterPlacementNotes(planWith(cable, 230), viewWith(tunnel, 225), "stories260K");
    expect(notes).toEqual([
      "a faster placement is available for stories260K-1 (predicted 230.0 tokens/s, against 225.0 when stories260K-1 was placed): this plan reaches host2 directly over 10.9.0.1 -> 10.9.0.2 (ethernet), which it reaches through the tunnel. herd does not move a READY instance by itself: 'herd unload stories260K-1' and load stories260K again to move it",
    ]);
  });

  it("leaves the predictions out when the plan predicts less than the instance was placed with", () => {
    const [note] = fasterPlacementNotes(planWith(cable, 170), viewWith(tunnel, 272), "stories260K");
    expect(note).toMatch(
      /^a faster placement is available for stories260K-1: this plan reaches host2 directly/,
    );
  });

  it("says so for a prediction at least 10% faster, whatever the routes", () => {
    const notes = fasterPlacementNotes(planWith(tunnel, 120), viewWith(tunnel, 100), "stories260K");
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain("predicted 120.0 tokens/s, against 100.0");
    expect(fasterPlacementNotes(planWith(tunnel, 105), viewWith(tunnel, 100), "stories260K")).toEqual([]);
  });

  it("says nothing when the instance already runs as planned, is not READY, or is another model's", () => {
    expect(fasterPlacementNotes(planWith(cable, 230), viewWith(cable, 230), "stories260K")).toEqual([]);
    expect(
      fasterPlacementNotes(planWith(cable, 230), viewWith(tunnel, 225, "STARTING"), "stories260K"),
    ).toEqual([]);
    expect(fasterPlacementNotes(planWith(cable, 230), viewWith(tunnel, 225), "other")).toEqual([]);
  });
});
