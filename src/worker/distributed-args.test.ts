import { describe, expect, it } from "vitest";
import { InstancePlan } from "../protocol/cluster.js";
import { distributedArgs } from "./distributed-args.js";

const plan = (extra: Partial<InstancePlan> = {}) =>
  InstancePlan.parse({
    head: "a",
    splitMode: "layer",
    shards: [
      { node: "a", layerStart: 0, layerEnd: 2, fraction: 0.4 },
      { node: "b", layerStart: 2, layerEnd: 5, fraction: 0.6 },
    ],
    rpcNodes: ["b"],
    tensorSplit: [4],
    gpuLayers: 4,
    ...extra,
  });

describe("distributedArgs", () => {
  it("carries out a CPU head's layer split over the given RPC endpoints", () => {
    expect(distributedArgs(plan(), ["127.0.0.1:5001"])).toEqual([
      ...["--rpc", "127.0.0.1:5001", "--split-mode", "layer", "--n-gpu-layers", "4"],
      ...["--tensor-split", "4", "--fit", "off"],
    ]);
  });

  it("keeps the output matrix on the head where the plan says so, matching output.weight alone", () => {
    const args = distributedArgs(plan({ outputOnHead: true }), ["127.0.0.1:5001"]);
    expect(args.slice(-2)).toEqual(["--override-tensor", "^output\\.weight$=CPU"]);
    const pattern = new RegExp(args.at(-1)!.split("=")[0]!);
    expect(
      ["output.weight", "blk.0.attn_output.weight", "output_norm.weight", "token_embd.weight"].filter(
        (name) => pattern.test(name),
      ),
    ).toEqual(["output.weight"]);
  });

  it("adds nothing for a model on one node", () => {
    expect(distributedArgs(plan({ splitMode: "none", rpcNodes: [] }), [])).toEqual([]);
  });
});
