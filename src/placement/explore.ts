import { InvalidRequestError } from "../protocol/errors.js";
import type { NodeId } from "../protocol/ids.js";
import { calibratedLinks, calibrateNode } from "./calibration.js";
import { candidateSets, exhaustiveLimit, type SearchOptions } from "./candidates.js";
import { type Configuration, compareIds, configure, gib, type PlanningContext } from "./configure.js";
import { bandwidthEfficiency } from "./cost-model.js";
import { draftMemoryBytes, modelShape, totalRequirement } from "./memory-estimate.js";
import type { PlacementInput, SplitMode } from "./placement-types.js";
import { engineMismatch, linkTable, type ResolvedNode, resolveNode } from "./resolve-nodes.js";

/** Plans within this share of the fastest count as equally fast: then fewer nodes, then the preferred head. */
export const equalSpeedTolerance = 0.02;

/** A planning problem after validation: the usable nodes in id order and the bounds on their number. */
export interface Problem {
  context: PlanningContext;
  usable: ResolvedNode[];
  /** Nodes left out by `nodes` / `avoid`, for suggestions. */
  excluded: ResolvedNode[];
  minNodes: number;
  maxNodes: number;
  preferredHead?: NodeId;
  /** Only these may head (they hold the model file); undefined: any. */
  allowedHeads?: readonly NodeId[];
  split: PlacementInput["request"]["split"];
}

/** Validates the request against the cluster; throws `InvalidRequestError` for what cannot be meant. */
export function prepareProblem(input: PlacementInput): Problem {
  const { model, request, cluster } = input;
  if (!(model.layerCount >= 1)) throw new InvalidRequestError(`model '${model.name}' has no blocks to place`);
  if (!Number.isInteger(request.contextSize) || request.contextSize < 1)
    throw new InvalidRequestError(
      `contextSize must be a positive integer, got ${request.contextSize}`,
      "contextSize",
    );
  if (!Number.isInteger(request.parallel) || request.parallel < 1)
    throw new InvalidRequestError(`parallel must be a positive integer, got ${request.parallel}`, "parallel");
  const known = new Set(cluster.nodes.map((node) => node.id));
  const unknown = (request.nodes ?? []).filter((id) => !known.has(id));
  if (unknown.length > 0) throw new InvalidRequestError(`no such node: ${unknown.join(", ")}`, "nodes");
  const all = [...cluster.nodes]
    .sort((a, b) => compareIds(a.id, b.id))
    .map((node) => calibrateNode(resolveNode(node), node.calibration, bandwidthEfficiency, cluster.now));
  const allowed = (node: ResolvedNode) =>
    (request.nodes === undefined || request.nodes.includes(node.id)) &&
    !(request.avoid ?? []).includes(node.id);
  const usable = all.filter(allowed);
  const minNodes = Math.max(1, request.minNodes ?? 1);
  const maxNodes = Math.min(usable.length, request.maxNodes ?? usable.length);
  if (request.maxNodes !== undefined && request.maxNodes < minNodes)
    throw new InvalidRequestError(
      `maxNodes (${request.maxNodes}) is below minNodes (${minNodes})`,
      "maxNodes",
    );
  return {
    context: {
      model,
      shape: modelShape(model),
      contextSize: request.contextSize,
      parallel: request.parallel,
      link: calibratedLinks(linkTable(cluster.links), all, cluster.now, cluster.routeOf),
      splitForced: request.split !== "auto",
      headExtraBytes: request.draft
        ? draftMemoryBytes(request.draft, request.contextSize, request.parallel)
        : 0,
    },
    usable,
    excluded: all.filter((node) => !allowed(node)),
    minNodes,
    maxNodes,
    ...(request.head !== undefined && { preferredHead: request.head }),
    ...(request.allowedHeads !== undefined && { allowedHeads: request.allowedHeads }),
    split: request.split,
  };
}

function modesFor(size: number, split: Problem["split"]): SplitMode[] {
  if (size === 1) return ["none"];
  return split === "auto" ? ["layer", "tensor"] : [split];
}

/** Every configuration tried: node sets from `candidateSets`, each with every head and allowed mode. */
export function exploreConfigurations(problem: Problem, options: SearchOptions = {}): Configuration[] {
  const { usable } = problem;
  const configurations: Configuration[] = [];
  const strength = usable.map((node) => node.capacityBytes * node.bandwidthBytesPerSecond);
  const { shape, contextSize, parallel } = problem.context;
  const requirements = new Map<number, number>();
  const requirement = (count: number) => {
    let bytes = requirements.get(count);
    if (bytes === undefined) {
      // Less a byte per node: `shardMemory` rounds each node's share up.
      bytes = totalRequirement(shape, contextSize, parallel, count, problem.context.headExtraBytes) - count;
      requirements.set(count, bytes);
    }
    return bytes;
  };
  candidateSets(
    strength,
    problem.minNodes,
    problem.maxNodes,
    (set) => {
      const members = set.map((index) => usable[index]!);
      const modes = modesFor(members.length, problem.split);
      const mismatch = engineMismatch(members);
      if (mismatch) {
        configurations.push(unfit(members, modes[0]!, mismatch));
        return Number.POSITIVE_INFINITY;
      }
      // Not enough memory in total: no head or split can help (the total does not depend on them).
      const needed = requirement(members.length);
      const capacity = members.reduce((sum, node) => sum + node.capacityBytes, 0);
      if (capacity < needed) {
        const why =
          members.length === 1
            ? `${members[0]!.name} needs ${gib(needed)}, has ${gib(capacity)}`
            : `together they need ${gib(needed)}, have ${gib(capacity)}`;
        configurations.push(unfit(members, modes[0]!, why));
        return Number.POSITIVE_INFINITY;
      }
      let best = Number.POSITIVE_INFINITY;
      for (const head of headsToTry(members, problem)) {
        for (const mode of modes) {
          const configuration = configure(problem.context, members, head, mode);
          configurations.push(configuration);
          if (configuration.prediction)
            best = Math.min(best, -configuration.prediction.decodeTokensPerSecond);
        }
      }
      return best;
    },
    options,
  );
  return configurations;
}

/**
 * The heads worth trying: one of each kind, since two nodes with the same figures and the same links
 * to the others give the same plan (the lower id is kept, as the ranking would), plus the preferred
 * head. Beyond `exhaustiveLimit` members, only the preferred head and the 3 strongest kinds.
 */
function headsToTry(members: ResolvedNode[], problem: Problem): ResolvedNode[] {
  const { link } = problem.context;
  const figures = (node: ResolvedNode) =>
    `${node.accelerated}/${node.capacityBytes}/${node.bandwidthBytesPerSecond}/${node.flopsPerSecond}/${node.tokenOverheadSeconds}/${node.computeCorrection}`;
  const kinds = new Map<string, ResolvedNode>();
  for (const head of members) {
    const others = members
      .filter((other) => other !== head)
      .map((other) => {
        const toOther = link(head.id, other.id);
        return `${figures(other)}@${toOther.rttSeconds}/${toOther.throughputBytesPerSecond}/${toOther.measured}/${toOther.correction}`;
      })
      .sort();
    const kind = `${figures(head)}|${others.join("|")}`;
    if (!kinds.has(kind)) kinds.set(kind, head);
  }
  let heads = [...kinds.values()];
  if (members.length > exhaustiveLimit)
    heads = heads
      .sort(
        (a, b) =>
          Number(b.accelerated) - Number(a.accelerated) ||
          b.capacityBytes * b.bandwidthBytesPerSecond - a.capacityBytes * a.bandwidthBytesPerSecond ||
          compareIds(a.id, b.id),
      )
      .slice(0, 3);
  const preferred = members.find((node) => node.id === problem.preferredHead);
  const candidates = preferred && !heads.includes(preferred) ? [...heads, preferred] : heads;
  // Only nodes holding the model file can head: try each of them (there are few), whatever its kind.
  if (problem.allowedHeads) return members.filter((node) => problem.allowedHeads!.includes(node.id));
  return candidates;
}

function unfit(members: ResolvedNode[], splitMode: SplitMode, why: string): Configuration {
  return {
    nodes: members.map((node) => node.id).sort(compareIds),
    head: members[0]!.id,
    splitMode,
    fits: false,
    why,
    shards: [],
    rpcNodes: [],
    tensorSplit: [],
    gpuLayers: 0,
    members,
    outputOnHead: false,
  };
}

/**
 * Fitting configurations, best first: those within `equalSpeedTolerance` of the fastest decode come
 * first, ordered by fewer nodes, then the preferred head, then speed; the rest by speed. Prefill
 * speed and then ids break remaining ties, so the order never depends on the input's order.
 */
export function rankConfigurations(
  fitting: readonly Configuration[],
  preferredHead?: NodeId,
): Configuration[] {
  const decode = (configuration: Configuration) => configuration.prediction?.decodeTokensPerSecond ?? 0;
  const fastest = Math.max(...fitting.map(decode));
  const equal = (configuration: Configuration) =>
    decode(configuration) >= fastest * (1 - equalSpeedTolerance);
  return [...fitting].sort(
    (a, b) =>
      Number(equal(b)) - Number(equal(a)) ||
      (equal(a) ? a.nodes.length - b.nodes.length : 0) ||
      (equal(a) ? Number(b.head === preferredHead) - Number(a.head === preferredHead) : 0) ||
      decode(b) - decode(a) ||
      (b.prediction?.prefillTokensPerSecond ?? 0) - (a.prediction?.prefillTokensPerSecond ?? 0) ||
      compareIds(a.nodes.join(","), b.nodes.join(",")) ||
      compareIds(a.head, b.head) ||
      compareIds(a.splitMode, b.splitMode),
  );
}
