import { NoPlacementError } from "../protocol/errors.js";
import type { NodeId } from "../protocol/ids.js";
import { type Configuration, gib } from "./configure.js";
import { exploreConfigurations, type Problem } from "./explore.js";
import { modelShape, totalRequirement } from "./memory-estimate.js";
import { assumedLink, type ResolvedNode } from "./resolve-nodes.js";

/**
 * Bits per weight of llama.cpp's common quantizations, largest first, from `tools/quantize/quantize.cpp`
 * of the pinned llama.cpp: the IQ types as it states them, the K and Q8_0 types from its Llama-3-8B
 * file sizes (GiB × 8 / 8.03 billion weights).
 */
const quantizations: Array<[string, number]> = [
  ["Q8_0", 8.5],
  ["Q6_K", 6.56],
  ["Q5_K_M", 5.69],
  ["Q4_K_M", 4.89],
  ["IQ4_XS", 4.25],
  ["Q3_K_M", 4.0],
  ["IQ3_XXS", 3.06],
  ["IQ2_XS", 2.31],
  ["IQ2_XXS", 2.06],
  ["IQ1_M", 1.75],
];

/** Node memory searches stop at this precision. */
const memoryStep = 0.25 * 1024 ** 3;

/**
 * The error for a problem nothing fits: what the model needs on every usable node together, what they
 * have, why that is not enough, and suggestions each checked by planning again with the change made.
 */
export function noPlacementError(
  problem: Problem,
  configurations: readonly Configuration[],
): NoPlacementError {
  const { usable, context } = problem;
  const requiredBytes = totalRequirement(
    context.shape,
    context.contextSize,
    context.parallel,
    usable.length,
    context.headExtraBytes,
  );
  const availableBytes = usable.reduce((sum, node) => sum + node.capacityBytes, 0);
  return new NoPlacementError(
    context.model.name,
    requiredBytes,
    availableBytes,
    suggestions(problem, requiredBytes),
    detail(problem, configurations, requiredBytes, availableBytes),
  );
}

function detail(
  problem: Problem,
  configurations: readonly Configuration[],
  requiredBytes: number,
  availableBytes: number,
): string | null {
  if (problem.usable.length === 0)
    return problem.excluded.length > 0
      ? "every node is left out by 'nodes' or 'avoid'"
      : "the cluster has no nodes";
  if (problem.minNodes > problem.usable.length)
    return `at least ${problem.minNodes} nodes were asked for, ${problem.usable.length} are usable`;
  if (requiredBytes > availableBytes) return null;
  // Enough memory in total: say what stops the configuration with the most of it.
  const widest = [...configurations].sort((a, b) => b.nodes.length - a.nodes.length)[0];
  return widest?.why ?? null;
}

function suggestions(problem: Problem, requiredBytes: number): string[] {
  const { context } = problem;
  const result: string[] = [];
  const fits = (changed: Problem) =>
    changed.usable.length >= changed.minNodes &&
    exploreConfigurations(changed, { stopWhenFits: true, exhaustiveUpTo: 6, localSearch: false }).some(
      (configuration) => configuration.fits,
    );
  const withContext = (contextSize: number, parallel = context.parallel): Problem => ({
    ...problem,
    context: { ...context, contextSize, parallel },
  });
  const everyNode = [...problem.usable, ...problem.excluded];
  const allowExcluded = () => {
    if (problem.excluded.length > 0 && fits({ ...problem, usable: everyNode, maxNodes: everyNode.length }))
      result.push(
        `allow ${problem.excluded.map((node) => node.name).join(", ")} (left out by 'nodes' or 'avoid')`,
      );
  };
  if (problem.usable.length === 0 || problem.minNodes > problem.usable.length) {
    allowExcluded();
    if (problem.usable.length > 0 && fits({ ...problem, minNodes: problem.usable.length }))
      result.push(`ask for at most ${problem.usable.length} nodes (minNodes)`);
    return result;
  }

  const contextSize = largestInteger(1, context.contextSize - 1, (size) => fits(withContext(size)));
  // llama.cpp pads each slot's context to 256 cells, so less than 256 changes nothing.
  if (contextSize !== undefined && contextSize >= 256) {
    const rounded = contextSize - (contextSize % 256);
    result.push(`a context of ${rounded} tokens instead of ${context.contextSize} (-c ${rounded})`);
  }
  if (context.parallel > 1) {
    const perSlot = Math.ceil(context.contextSize / context.parallel);
    const slots = largestInteger(1, context.parallel - 1, (count) =>
      fits(withContext(perSlot * count, count)),
    );
    if (slots !== undefined)
      result.push(
        `${slots} parallel slot${slots === 1 ? "" : "s"} instead of ${context.parallel}, keeping ${perSlot} tokens each (-np ${slots} -c ${perSlot * slots})`,
      );
  }
  const quantization = smallerWeights(problem, fits);
  if (quantization) result.push(quantization);

  const strongest = [...problem.usable].sort(
    (a, b) => b.capacityBytes * b.bandwidthBytesPerSecond - a.capacityBytes * a.bandwidthBytesPerSecond,
  );
  const grown = (node: ResolvedNode, extra: number): Problem => ({
    ...problem,
    usable: problem.usable.map((other) =>
      other.id === node.id ? { ...other, capacityBytes: other.capacityBytes + extra } : other,
    ),
  });
  const growths = strongest.slice(0, 4).flatMap((node) => {
    const extra = smallestMemory(requiredBytes, (bytes) => fits(grown(node, bytes)));
    return extra === undefined ? [] : [{ node, extra }];
  });
  const growth = growths.sort((a, b) => a.extra - b.extra)[0];
  if (growth)
    result.push(
      `about ${gib(growth.extra)} more free memory on ${growth.node.name} (it has ${gib(growth.node.capacityBytes)})`,
    );

  const like = strongest[0]!;
  const maxNodes = problem.maxNodes + (problem.usable.length === problem.maxNodes ? 1 : 0);
  const added = (bytes: number): Problem => ({
    ...problem,
    maxNodes,
    usable: [
      ...problem.usable,
      { ...like, id: "(another node)" as NodeId, name: "another node", capacityBytes: bytes },
    ],
  });
  const newNode = smallestMemory(requiredBytes, (bytes) => fits(added(bytes)));
  if (newNode !== undefined)
    result.push(
      `one more node with at least ${gib(newNode)} free, as fast as ${like.name}, on a link like gigabit Ethernet ` +
        `(${assumedLink.rttSeconds * 1000} ms) or better`,
    );
  allowExcluded();
  if (problem.split !== "auto" && fits({ ...problem, split: "auto" }))
    result.push(`let herd choose the split instead of '${problem.split}'`);
  if (problem.maxNodes < problem.usable.length && fits({ ...problem, maxNodes: problem.usable.length }))
    result.push(`allow up to ${problem.usable.length} nodes (maxNodes)`);
  return result;
}

/** A smaller file: the largest share of today's weights that would fit, named as a quantization. */
function smallerWeights(problem: Problem, fits: (changed: Problem) => boolean): string | undefined {
  const { model } = problem.context;
  const scaled = (share: number): Problem => {
    const smaller = {
      ...model,
      sizeBytes: model.sizeBytes * share,
      bytesPerLayer: model.bytesPerLayer * share,
      nonLayerBytes: model.nonLayerBytes * share,
      ...(model.outputWeightBytes !== undefined && { outputWeightBytes: model.outputWeightBytes * share }),
      expertBytesPerLayer: model.expertBytesPerLayer * share,
    };
    return { ...problem, context: { ...problem.context, model: smaller, shape: modelShape(smaller) } };
  };
  const percent = largestInteger(1, 99, (value) => fits(scaled(value / 100)));
  if (percent === undefined) return undefined;
  const bytes = (model.sizeBytes * percent) / 100;
  const text = `a smaller quantization: a file of about ${gib(bytes)} instead of ${gib(model.sizeBytes)}`;
  if (!model.parameterCount) return text;
  const bits = (bytes * 8) / model.parameterCount;
  const name = quantizations.find(([, quantBits]) => quantBits <= bits)?.[0];
  return name
    ? `${text} (at most ${bits.toFixed(1)} bits per weight: a ~${name})`
    : `${text} (${bits.toFixed(1)} bits per weight, below any common quantization)`;
}

/** The largest integer in [low, high] that `test` accepts, given that it accepts a prefix; undefined if none. */
function largestInteger(low: number, high: number, test: (value: number) => boolean): number | undefined {
  if (high < low || !test(low)) return undefined;
  let [good, bad] = [low, high + 1];
  while (bad - good > 1) {
    const middle = Math.floor((good + bad) / 2);
    if (test(middle)) good = middle;
    else bad = middle;
  }
  return good;
}

/** The least memory (to `memoryStep`) that `test` accepts, searching up to twice `limit`; undefined if none. */
function smallestMemory(limit: number, test: (bytes: number) => boolean): number | undefined {
  if (test(0)) return 0;
  const steps = Math.ceil((2 * limit) / memoryStep);
  if (!test(steps * memoryStep)) return undefined;
  let [bad, good] = [0, steps];
  while (good - bad > 1) {
    const middle = Math.floor((bad + good) / 2);
    if (test(middle * memoryStep)) good = middle;
    else bad = middle;
  }
  return good * memoryStep;
}
