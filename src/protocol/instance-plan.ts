import { z } from "zod";
import { NodeId } from "./ids.js";
import { InterfaceKind } from "./network-interface.js";

/**
 * How a head's llama-server reaches its shards' RPC servers. `tunnel`: only through herd's
 * authenticated channel; `direct`: plain TCP; `auto`: direct over a private path (a cable between
 * exactly those two machines), the tunnel otherwise.
 */
export const RpcTransport = z.enum(["auto", "tunnel", "direct"]);
export type RpcTransport = z.infer<typeof RpcTransport>;

/** How the head reaches one shard, as the plan chose it. */
export const RpcRoute = z.object({
  transport: z.enum(["tunnel", "direct"]),
  /** For `direct`: the address the shard's RPC server binds (and the head dials), that alone. */
  host: z.string().max(64).optional(),
  /** The path the shard is reached over: the head's address, the shard node's, its kind. */
  path: z
    .object({
      from: z.string().max(64),
      to: z.string().max(64),
      kind: InterfaceKind.catch("other"),
      private: z.boolean(),
      rdmaPossible: z.boolean(),
    })
    .optional(),
});
export type RpcRoute = z.infer<typeof RpcRoute>;

/**
 * The name of the way a head reaches a shard, as calibration keeps what it learns of it: `tunnel`,
 * `direct <from>><to>` over a known path, or `direct` to the node's advertised address.
 *
 * @example rpcRouteKey({ transport: "direct", path: { from: "169.254.10.1", to: "169.254.10.2", ... } }) // "direct 169.254.10.1>169.254.10.2"
 */
export function rpcRouteKey(route: RpcRoute | undefined): string {
  if (route === undefined || route.transport === "tunnel") return "tunnel";
  return route.path ? `direct ${route.path.from}>${route.path.to}` : "direct";
}

/** Where each part of a distributed instance runs: the head (llama-server) and the RPC shards. */
export const InstancePlan = z.object({
  head: NodeId,
  splitMode: z.enum(["none", "layer", "tensor"]),
  /** Head first, then the RPC shards in the order they are passed to `--rpc`. */
  shards: z
    .array(
      z.object({
        node: NodeId,
        layerStart: z.number().int().nonnegative(),
        layerEnd: z.number().int().nonnegative(),
        fraction: z.number().nonnegative(),
        /** The planner's estimate for this shard (weights, KV cache, compute buffers), checked against the engine's report. */
        plannedBytes: z.number().nonnegative().optional(),
        /** Memory the planner reserved for this part (weights, KV cache, compute buffers, margin). */
        totalBytes: z.number().nonnegative().optional(),
      }),
    )
    .min(1)
    .max(64),
  /** The nodes whose ggml-rpc-servers llama-server uses, in `--rpc` order (the head too, for a CPU head's tensor split). */
  rpcNodes: z.array(NodeId).max(64).default([]),
  /** `--tensor-split`, one value per llama.cpp device. */
  tensorSplit: z.array(z.number().nonnegative()).max(64).default([]),
  /** `--n-gpu-layers`: blocks (and output layer) on devices; the rest stay on the head's CPU. */
  gpuLayers: z.number().int().nonnegative().default(0),
  /**
   * `tunnel`: engines reach each other only through herd's authenticated channel; `direct`: plain TCP.
   * A plan made under `auto` says `tunnel` here (what an older node, which knows no routes, falls back to).
   */
  rpcTransport: z.enum(["tunnel", "direct"]).default("tunnel"),
  /** Per `rpcNodes` entry, how the head reaches it; absent in plans older than routes (all `rpcTransport`). */
  rpcRoutes: z.array(RpcRoute).max(64).optional(),
  /**
   * The head's CPU keeps the output matrix, which llama.cpp would put with the last RPC shard
   * (`outputOnHeadArgs`): each token's activations cross to the head instead of its logits. Absent in
   * plans from before the choice (the output with the last shard).
   */
  outputOnHead: z.boolean().optional(),
  /** The planner's prediction, for comparison with what the instance measures. */
  predictedDecodeTokensPerSecond: z.number().nonnegative().optional(),
  /**
   * The prediction's decode seconds per token of the head's own part (with its learnt correction),
   * and of the head's and the RPC paths' parts before corrections: what a measured decode is
   * compared with to learn them.
   */
  predictedHeadSeconds: z.number().nonnegative().optional(),
  uncorrectedHeadSeconds: z.number().nonnegative().optional(),
  uncorrectedRemoteSeconds: z.number().nonnegative().optional(),
});
export type InstancePlan = z.infer<typeof InstancePlan>;

/**
 * The llama-server flags that keep the output matrix in the head's host memory, computed by its CPU.
 * The pattern is searched for in each tensor's name, so it is anchored: `blk.0.attn_output.weight`
 * contains `output.weight` too. A model with tied embeddings has no such tensor (the planner knows).
 */
export const outputOnHeadArgs: readonly string[] = ["--override-tensor", "^output\\.weight$=CPU"];
