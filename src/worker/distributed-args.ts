import type { InstancePlan } from "../protocol/cluster.js";

/**
 * The llama-server flags that carry out a plan on a CPU head, given the `--rpc` endpoints in plan
 * order (for tensor split, the head's own RPC server comes first).
 *
 * Layer split: llama.cpp keeps the first `layerCount + 1 - ngl` blocks on the host CPU and spreads
 * the last `ngl` (the output layer counts as one) over the RPC devices in `--tensor-split`
 * proportions, so the head's share stays local and each shard's layer count is its proportion.
 * Tensor split: every tensor is cut across all devices, so the head serves its share through a
 * local RPC server like any other device.
 * `--fit off`: the plan already fits; llama-server must not rearrange it.
 */
export function distributedArgs(plan: InstancePlan, layerCount: number, rpcEndpoints: string[]): string[] {
  if (plan.splitMode === "none" || plan.shards.length === 1) return [];
  const remote = plan.shards.slice(1);
  if (plan.splitMode === "tensor") {
    return [
      "--rpc",
      rpcEndpoints.join(","),
      "--split-mode",
      "tensor",
      "--n-gpu-layers",
      "999",
      "--tensor-split",
      plan.shards.map((shard) => round(shard.fraction)).join(","),
      "--fit",
      "off",
    ];
  }
  const head = plan.shards[0]!;
  const headLayers = head.layerEnd - head.layerStart;
  const offloaded = layerCount + 1 - headLayers;
  const counts = remote.map(
    (shard, index) => shard.layerEnd - shard.layerStart + (index === remote.length - 1 ? 1 : 0),
  );
  return [
    "--rpc",
    rpcEndpoints.join(","),
    "--split-mode",
    "layer",
    "--n-gpu-layers",
    String(offloaded),
    "--tensor-split",
    counts.join(","),
    "--fit",
    "off",
  ];
}

/** Nodes that run an RPC server for this plan: every shard but the head, and the head too for tensor split. */
export function rpcShardIndexes(plan: InstancePlan): number[] {
  if (plan.splitMode === "none" || plan.shards.length === 1) return [];
  return plan.shards.map((_, index) => index).filter((index) => index > 0 || plan.splitMode === "tensor");
}

function round(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}
