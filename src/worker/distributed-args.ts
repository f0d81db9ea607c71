import type { InstancePlan } from "../protocol/cluster.js";
import { outputOnHeadArgs } from "../protocol/instance-plan.js";

/**
 * The llama-server flags that carry out a plan, given the `--rpc` endpoints (one per `rpcNodes`
 * entry, in that order). The planner worked out llama.cpp's device order, the `--tensor-split`
 * values and `--n-gpu-layers` (a CPU head keeps the first blocks by offloading only the rest);
 * `--fit off` keeps llama-server from rearranging what already fits; a CPU head may keep the output matrix.
 */
export function distributedArgs(plan: InstancePlan, rpcEndpoints: string[]): string[] {
  if (plan.splitMode === "none" || plan.rpcNodes.length === 0) return [];
  return [
    "--rpc",
    rpcEndpoints.join(","),
    "--split-mode",
    plan.splitMode,
    "--n-gpu-layers",
    String(plan.gpuLayers),
    "--tensor-split",
    plan.tensorSplit.join(","),
    "--fit",
    "off",
    ...(plan.outputOnHead ? outputOnHeadArgs : []),
  ];
}
