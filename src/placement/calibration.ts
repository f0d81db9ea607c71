import type {
  Correction,
  HopCalibration,
  NodeCalibration,
  SelfMeasurement,
} from "../protocol/calibration.js";
import type { NodeId } from "../protocol/ids.js";
import type { PlannedRoute } from "./placement-types.js";
import type { Link, ResolvedNode } from "./resolve-nodes.js";

/**
 * Corrections stay within ×0.5-×2: beyond that the model is wrong in a way a factor should not hide
 * (a node swapping, a link that changed), and one odd reply must not wreck every later plan.
 */
export const correctionBounds = { lowest: 0.5, highest: 2 } as const;
/**
 * Weight of a new observation in the running geometric mean once a few are in: the first counts
 * fully, the second half, ... down to this floor, so a correction settles within about ten replies
 * and then follows slow changes.
 */
export const correctionWeight = 0.25;
/** Without new observations a correction's pull halves each week: machines and links change. */
export const correctionHalfLifeMs = 7 * 24 * 3600 * 1000;

/** The prediction's split of decode time, as an instance's plan keeps it (see `CostBreakdown`). */
export interface PredictedDecode {
  /** The head's own part (its per-token overhead and blocks), with its correction. */
  headSeconds: number;
  /** The head's part before its correction. */
  uncorrectedHeadSeconds: number;
  /** The RPC paths' part (shards' blocks and hops) before their corrections; 0 on one node. */
  uncorrectedRemoteSeconds: number;
}

/**
 * The correction after one more observation. `observed` is the factor this measurement alone calls
 * for (measured ÷ the prediction before corrections); the running mean moves towards it in log space,
 * so the same observation repeated converges on it and never runs past it. An observation that is
 * not a positive number changes nothing.
 *
 * @example nextCorrection(undefined, 1.4, now) // { factor: 1.4, samples: 1, updatedAt: now }
 */
export function nextCorrection(
  previous: Correction | undefined,
  observed: number,
  now: number,
): Correction | undefined {
  if (!(observed > 0) || !Number.isFinite(observed)) return previous;
  const samples = previous?.samples ?? 0;
  const weight = Math.max(correctionWeight, 1 / (samples + 1));
  const base = correctionFactor(previous, now);
  return {
    factor: clampFactor(base ** (1 - weight) * clampFactor(observed) ** weight),
    samples: samples + 1,
    updatedAt: now,
  };
}

/** The multiplier to apply now: 1 without data, decayed towards 1 with age, always within bounds. */
export function correctionFactor(correction: Correction | undefined, now: number | undefined): number {
  if (correction === undefined) return 1;
  const age = now === undefined ? 0 : Math.max(0, now - correction.updatedAt);
  return clampFactor(correction.factor ** (0.5 ** (age / correctionHalfLifeMs)));
}

function clampFactor(factor: number): number {
  return Math.min(correctionBounds.highest, Math.max(correctionBounds.lowest, factor));
}

/**
 * Which part a measured decode says was mispredicted, as observed factors for `nextCorrection`. One
 * node: the head's own part. With RPC paths the head's part is taken as predicted (its self-measure
 * and its single-node instances set it) and what is left of the measured time is laid on the paths,
 * each shard's blocks and hop alike: only the head sees the split's decode.
 */
export function attributeDecodeError(
  predicted: PredictedDecode,
  measuredSecondsPerToken: number,
): { node?: number; hops?: number } {
  if (!(measuredSecondsPerToken > 0) || !(predicted.uncorrectedHeadSeconds > 0)) return {};
  if (!(predicted.uncorrectedRemoteSeconds > 0))
    return { node: measuredSecondsPerToken / predicted.uncorrectedHeadSeconds };
  const remoteLeft = Math.max(measuredSecondsPerToken - predicted.headSeconds, 1e-6);
  return { hops: remoteLeft / predicted.uncorrectedRemoteSeconds };
}

/** A shard node and how its head reaches it (`rpcRouteKey`): the key of what the head learns of that path. */
export interface ShardRoute {
  node: NodeId;
  route: string;
}

/**
 * Folds one observed decode into a node's calibration: its own correction, or those of the paths to
 * `shards`, each over the route the instance took (what a cable teaches is not a LAN's to learn).
 */
export function learnFromDecode(
  calibration: NodeCalibration,
  predicted: PredictedDecode,
  measuredSecondsPerToken: number,
  shards: readonly ShardRoute[],
  now: number,
): NodeCalibration {
  const observed = attributeDecodeError(predicted, measuredSecondsPerToken);
  let next = calibration;
  if (observed.node !== undefined)
    next = { ...next, correction: nextCorrection(next.correction, observed.node, now) };
  if (observed.hops !== undefined) {
    for (const shard of shards) {
      const hop = hopOf(next, shard);
      next = withHop(next, { ...hop, correction: nextCorrection(hop.correction, observed.hops, now) });
    }
  }
  return next;
}

/**
 * The calibration with a new self-measure. Corrections learnt so far were against the old figures:
 * they start afresh (the RPC round trips stay, they do not depend on the engine's speed).
 */
export function withMeasurement(calibration: NodeCalibration, measured: SelfMeasurement): NodeCalibration {
  return {
    measured,
    hops: calibration.hops.map(({ correction: _, ...hop }) => hop),
  };
}

/** This node's record of the route to a shard node (an empty one when it has none). */
export function hopOf(calibration: NodeCalibration | undefined, shard: ShardRoute): HopCalibration {
  return findHop(calibration, shard) ?? { node: shard.node, route: shard.route };
}

function findHop(calibration: NodeCalibration | undefined, { node, route }: ShardRoute) {
  return calibration?.hops.find((hop) => hop.node === node && hop.route === route);
}

/** The calibration with `hop` in place of the record for its node and route. */
export function withHop(calibration: NodeCalibration, hop: HopCalibration): NodeCalibration {
  const other = (record: HopCalibration) => record.node !== hop.node || record.route !== hop.route;
  return { ...calibration, hops: [...calibration.hops.filter(other), hop] };
}

/**
 * A resolved node with what it measured of itself in place of the chip table's guess (bandwidth as
 * llama.cpp reaches it, divided by the efficiency the cost model applies, so the model's arithmetic
 * stays one formula) and its learnt correction. Figures given outright (`given`) win over both.
 */
export function calibrateNode(
  node: ResolvedNode,
  calibration: NodeCalibration | undefined,
  efficiency: number,
  now: number | undefined,
): ResolvedNode {
  if (calibration === undefined || node.chip === "given") return node;
  const measured = calibration.measured;
  return {
    ...node,
    ...(measured && {
      bandwidthBytesPerSecond: measured.bandwidthBytesPerSecond / efficiency,
      tokenOverheadSeconds: measured.tokenOverheadSeconds,
      chip: `${node.chip}, measured`,
    }),
    computeCorrection: correctionFactor(calibration.correction, now),
    calibration,
  };
}

/**
 * `link(head, shard)` over the route the head would take to the shard (`routeOf`; the tunnel when
 * absent): that path's figures where they are known apart, then what the head measured of that
 * route: llama.cpp's own round trip in place of herd's ping, and the route's learnt correction.
 */
export function calibratedLinks(
  link: (a: NodeId, b: NodeId) => Link,
  nodes: readonly ResolvedNode[],
  now: number | undefined,
  routeOf?: (head: NodeId, shard: NodeId) => PlannedRoute,
): (head: NodeId, shard: NodeId) => Link {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const answers = new Map<string, Link>();
  const calibrated = (head: NodeId, shard: NodeId): Link => {
    const route = routeOf?.(head, shard);
    const base: Link = {
      ...link(head, shard),
      ...(route?.figures && { ...route.figures, measured: true }),
      ...(route && { route: route.description }),
    };
    const calibration = byId.get(head)?.calibration;
    const hop = findHop(calibration, { node: shard, route: route?.key ?? "tunnel" });
    const rpc = hop?.rpcRoundTripSeconds;
    // A direct route nothing has run over yet: herd's ping crosses both nodes' event loops, and the
    // tunnel's RPC round trip over the same path (two relays and TLS more than the route) is less.
    const tunnel =
      rpc === undefined && route?.tunnelPath
        ? findHop(calibration, { node: shard, route: "tunnel" })?.rpcRoundTripSeconds
        : undefined;
    const bounded: Link =
      tunnel !== undefined && tunnel < base.rttSeconds
        ? { ...base, rttSeconds: tunnel, rpcFromTunnel: true, pingRttSeconds: base.rttSeconds }
        : base;
    if (hop === undefined) return bounded;
    return {
      ...bounded,
      ...(rpc !== undefined && { rttSeconds: rpc, rpcMeasured: true, pingRttSeconds: base.rttSeconds }),
      correction: correctionFactor(hop.correction, now),
      ...(hop.correction && { correctionSamples: hop.correction.samples }),
    };
  };
  return (head, shard) => {
    if (head === shard) return link(head, shard);
    const key = `${head}\n${shard}`;
    let answer = answers.get(key);
    if (answer === undefined) {
      answer = calibrated(head, shard);
      answers.set(key, answer);
    }
    return answer;
  };
}
