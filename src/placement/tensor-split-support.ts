import type { NodeId } from "../protocol/ids.js";
import type { Link, ResolvedNode } from "./resolve-nodes.js";

/**
 * Architectures herd lets llama.cpp split by tensor: llama-like decoders that the pinned llama.cpp
 * does not exclude in `llm_arch_supports_sm_tensor` (src/llama-arch.cpp). Its exclusions include the
 * recurrent and hybrid models (Mamba, Jamba, Nemotron-H), DeepSeek2/3, MiniMax, Grok, OLMoE and T5;
 * an allow-list keeps a new architecture on the safe, layer-split side until it is known to work.
 */
export const tensorSplitArchitectures: ReadonlySet<string> = new Set([
  "llama",
  "mistral3",
  "qwen2",
  "qwen2moe",
  "qwen3",
  "qwen3moe",
  "gemma",
  "gemma2",
  "gemma3",
  "phi3",
  "granite",
  "starcoder2",
  "command-r",
  "cohere2",
  "glm4",
  "gpt-oss",
]);

/**
 * A link fast enough for tensor split, which needs two all-reduces per block per token: under 1 ms
 * round trip (a LAN switch hop or better) and at least 2 GB/s (25 GbE, Thunderbolt networking, RDMA).
 */
export const tensorSplitMaxRttMs = 1;
export const tensorSplitMinThroughput = 2e9;

/** Why tensor split cannot run on these nodes, or undefined when it can. */
export function tensorSplitBlocker(
  architecture: string,
  head: ResolvedNode,
  remotes: readonly ResolvedNode[],
  linkOf: (a: NodeId, b: NodeId) => Link,
  /** The user asked for tensor split: slow links then cost speed (the cost model says how much) but do not forbid it. */
  forced = false,
): string | undefined {
  if (!tensorSplitArchitectures.has(architecture))
    return `tensor split is not available for architecture '${architecture}'`;
  if (remotes.length === 0) return "tensor split needs at least two nodes";
  // llama.cpp builds its tensor-parallel device from non-CPU devices only.
  if (forced) return undefined;
  for (const remote of remotes) {
    const link = linkOf(head.id, remote.id);
    if (!link.measured) return `the link ${head.name} ↔ ${remote.name} has not been measured`;
    if (
      link.rttSeconds * 1000 >= tensorSplitMaxRttMs ||
      link.throughputBytesPerSecond < tensorSplitMinThroughput
    )
      return (
        `the link ${head.name} ↔ ${remote.name} is too slow for tensor split ` +
        `(${(link.rttSeconds * 1000).toFixed(2)} ms, ${(link.throughputBytesPerSecond / 1e9).toFixed(2)} GB/s; ` +
        `needs < ${tensorSplitMaxRttMs} ms and ≥ ${tensorSplitMinThroughput / 1e9} GB/s)`
      );
  }
  return undefined;
}
