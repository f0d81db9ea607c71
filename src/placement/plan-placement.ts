import type { NodeId } from "../protocol/ids.js";
import { outputOnHeadArgs } from "../protocol/instance-plan.js";
import { type Configuration, compareIds } from "./configure.js";
import { exploreConfigurations, type Problem, prepareProblem, rankConfigurations } from "./explore.js";
import { noPlacementError } from "./no-placement.js";
import type { Alternative, PlacementInput, Plan } from "./placement-types.js";
import { planReasons } from "./plan-reasons.js";

/** How many other fitting and non-fitting options a plan lists. */
const fittingAlternatives = 3;
const failingAlternatives = 3;

/**
 * Decides where a model runs: which nodes, which head, which split and which blocks where; predicts
 * its speed and says why. Pure: the same input gives the same plan, whatever the order of its lists.
 * Throws `NoPlacementError` (with computed suggestions) when nothing fits, `InvalidRequestError` for a
 * request that names unknown nodes or impossible bounds.
 *
 * @example
 * const plan = planPlacement({ model: profile, request: { contextSize: 8192, parallel: 2, split: "auto" }, cluster });
 * spawn("llama-server", [...baseArgs, ...plan.llamaServerArgs, "--rpc", plan.rpcNodes.map(endpointOf).join(",")]);
 */
export function planPlacement(input: PlacementInput): Plan {
  const problem = prepareProblem(input);
  const configurations = exploreConfigurations(problem);
  const fitting = configurations.filter((configuration) => configuration.fits);
  if (fitting.length === 0) throw noPlacementError(problem, configurations);
  const ranked = rankConfigurations(fitting, problem.preferredHead);
  const best = ranked[0]!;
  return {
    model: input.model.name,
    head: best.head,
    splitMode: best.splitMode,
    shards: best.shards,
    rpcNodes: best.rpcNodes,
    tensorSplit: best.tensorSplit,
    gpuLayers: best.gpuLayers,
    outputOnHead: best.outputOnHead,
    llamaServerArgs: splitArgs(best, problem),
    memoryPerNode: best.shards.map((shard) => {
      const availableBytes = best.members.find((node) => node.id === shard.node)!.capacityBytes;
      return {
        node: shard.node,
        neededBytes: shard.totalBytes,
        availableBytes,
        freeAfterBytes: availableBytes - shard.totalBytes,
      };
    }),
    predicted: {
      decodeTokensPerSecond: best.prediction!.decodeTokensPerSecond,
      prefillTokensPerSecond: best.prediction!.prefillTokensPerSecond,
      computeSeconds: best.prediction!.computeSeconds,
      networkSeconds: best.prediction!.networkSeconds,
      headSeconds: best.prediction!.headSeconds,
      uncorrectedHeadSeconds: best.prediction!.uncorrectedHeadSeconds,
      uncorrectedRemoteSeconds: best.prediction!.uncorrectedRemoteSeconds,
    },
    reasons: planReasons(problem, best, ranked, configurations),
    alternatives: alternatives(best, ranked, configurations, problem),
  };
}

/**
 * The split-related llama-server flags. `--ctx-size` and `--parallel` repeat what the engine's own
 * argument builder passes (llama.cpp keeps the last); `--rpc` is the caller's, since only it knows the
 * tunnel ports. `--n-gpu-layers` is always explicit: it also stops llama.cpp's `--fit` from moving blocks.
 */
function splitArgs(best: Configuration, problem: Problem): string[] {
  const args = ["--split-mode", best.splitMode];
  if (best.tensorSplit.length > 0) args.push("--tensor-split", best.tensorSplit.join(","));
  args.push("--n-gpu-layers", String(best.gpuLayers));
  if (best.outputOnHead) args.push(...outputOnHeadArgs);
  args.push(
    "--ctx-size",
    String(problem.context.contextSize),
    "--parallel",
    String(problem.context.parallel),
  );
  return args;
}

/** The best other node sets and splits that fit, then the most telling ones that do not. */
function alternatives(
  best: Configuration,
  ranked: readonly Configuration[],
  all: readonly Configuration[],
  problem: Problem,
): Alternative[] {
  const key = (configuration: Configuration) => `${configuration.nodes.join(",")}/${configuration.splitMode}`;
  const seen = new Set([key(best)]);
  const chosen: Alternative[] = [];
  const bestDecode = best.prediction!.decodeTokensPerSecond;
  // Prefer variety: one per node count and split first, then the next best of any shape.
  const shape = (configuration: Configuration) => `${configuration.nodes.length}/${configuration.splitMode}`;
  const shapes = new Set([shape(best)]);
  const varied = [
    ...ranked.filter((configuration) => {
      if (shapes.has(shape(configuration))) return false;
      shapes.add(shape(configuration));
      return true;
    }),
    ...ranked,
  ];
  for (const configuration of varied) {
    if (chosen.length >= fittingAlternatives) break;
    if (seen.has(key(configuration))) continue;
    seen.add(key(configuration));
    const decode = configuration.prediction!.decodeTokensPerSecond;
    const change = Math.round((decode / bestDecode - 1) * 100);
    const network = configuration.prediction!.networkSeconds * 1000;
    chosen.push({
      ...summary(configuration),
      fits: true,
      predicted: {
        decodeTokensPerSecond: decode,
        prefillTokensPerSecond: configuration.prediction!.prefillTokensPerSecond,
      },
      why:
        `${decode.toFixed(1)} tokens/s decode, ${change === 0 ? "as fast as" : `${Math.abs(change)}% ${change < 0 ? "slower than" : "faster than"}`} the plan` +
        (network > 0 ? `; the network costs ${network.toFixed(1)} ms per token` : "") +
        (change >= 0
          ? `; the plan is preferred for ${reasonToPrefer(best, configuration, problem.preferredHead)}`
          : ""),
    });
  }
  // Failing ones: the chosen nodes in another split first, then the smallest sets, largest memory first.
  const failing = all
    .filter((configuration) => !configuration.fits && !seen.has(key(configuration)))
    .sort(
      (a, b) =>
        Number(b.nodes.join(",") === best.nodes.join(",")) -
          Number(a.nodes.join(",") === best.nodes.join(",")) ||
        a.nodes.length - b.nodes.length ||
        capacity(b) - capacity(a) ||
        compareIds(key(a), key(b)),
    );
  for (const configuration of failing) {
    if (chosen.length >= fittingAlternatives + failingAlternatives) break;
    if (seen.has(key(configuration))) continue;
    seen.add(key(configuration));
    chosen.push({ ...summary(configuration), fits: false, why: configuration.why });
  }
  return chosen;
}

function summary(configuration: Configuration): Pick<Alternative, "nodes" | "head" | "splitMode"> {
  return { nodes: configuration.nodes, head: configuration.head, splitMode: configuration.splitMode };
}

function capacity(configuration: Configuration): number {
  return configuration.members.reduce((sum, node) => sum + node.capacityBytes, 0);
}

function reasonToPrefer(best: Configuration, other: Configuration, preferred: NodeId | undefined): string {
  if (best.nodes.length < other.nodes.length) return "using fewer nodes at about the same speed";
  if (best.head === preferred && other.head !== preferred) return "being headed by the preferred node";
  const prefill = (configuration: Configuration) => configuration.prediction!.prefillTokensPerSecond;
  return prefill(best) > prefill(other) ? "its prefill speed" : "its node ids (a tie)";
}
