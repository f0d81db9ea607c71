import type { NodeCalibration } from "../protocol/calibration.js";
import type { LinkMeasurement, NodeProfile } from "../protocol/cluster.js";
import type { NodeId } from "../protocol/ids.js";
import { type ChipFigures, lookupChip, unknownAppleChip, unknownCpu, unknownGpu } from "./chip-table.js";
import type { PlacementNode } from "./placement-types.js";

/** A node with the figures the planner computes with. */
export interface ResolvedNode {
  id: NodeId;
  name: string;
  /** Memory a plan may use: the available memory, or less when the accelerator reports less free. */
  capacityBytes: number;
  bandwidthBytesPerSecond: number;
  flopsPerSecond: number;
  /** llama.cpp computes on a GPU (Metal, CUDA, ...) rather than the CPU. */
  accelerated: boolean;
  /** Where the figures come from, for reasons: a chip name, or "given". */
  chip: string;
  /** The llama.cpp version of its engine, when known (see `PlacementNode.engineVersion`). */
  engineVersion?: string;
  /** Seconds per token its llama-server spends besides reading weights, when it measured them. */
  tokenOverheadSeconds?: number;
  /** Its learnt correction to compute time (see `calibrateNode`); 1 or absent without data. */
  computeCorrection?: number;
  /** What it measured and learnt, for the links it heads and for reasons. */
  calibration?: NodeCalibration;
}

/** Device names llama.cpp gives its GPU backends (`MTL0`, `CUDA0`, `Vulkan0`, `ROCm0`, ...). */
const acceleratorName = /^(MTL|Metal|CUDA|ROCm|HIP|Vulkan|SYCL|OpenCL|MUSA|CANN)\d*$/i;

/** The planner's view of a node that announced its `NodeProfile`. */
export function placementNodeFromProfile(id: NodeId, name: string, profile: NodeProfile): PlacementNode {
  return {
    id,
    name,
    memoryAvailableBytes: profile.memoryAvailableBytes,
    cpuModel: profile.cpuModel,
    cpuCores: profile.cpuCores,
    devices: profile.devices,
    backend: profile.engine?.backend ?? null,
    engineVersion: profile.engine?.version,
    ...(profile.calibration && { calibration: profile.calibration }),
  };
}

export function resolveNode(node: PlacementNode): ResolvedNode {
  const accelerator = node.devices?.find((device) => acceleratorName.test(device.name.trim()));
  const accelerated =
    accelerator !== undefined ||
    (node.backend !== undefined && node.backend !== null && node.backend !== "cpu");
  const cpuModel = node.cpuModel ?? "";
  let figures: ChipFigures;
  if (accelerated) {
    const description = accelerator?.description ?? "";
    figures =
      lookupChip(description) ??
      lookupChip(cpuModel) ??
      (/apple/i.test(`${description} ${cpuModel}`) ? unknownAppleChip : unknownGpu);
  } else {
    figures = lookupChip(cpuModel) ?? unknownCpu(node.cpuCores);
  }
  const acceleratorFree = accelerator ? freeMemoryOf(accelerator.description) : undefined;
  const given = node.memoryBandwidthBytesPerSecond !== undefined;
  return {
    id: node.id,
    name: node.name,
    capacityBytes: Math.max(
      0,
      Math.min(node.memoryAvailableBytes, acceleratorFree ?? Number.POSITIVE_INFINITY),
    ),
    bandwidthBytesPerSecond: node.memoryBandwidthBytesPerSecond ?? figures.bandwidthBytesPerSecond,
    flopsPerSecond: node.flopsPerSecond ?? figures.flopsPerSecond,
    accelerated,
    chip: given ? "given" : figures.chip,
    ...(node.engineVersion !== undefined && { engineVersion: node.engineVersion }),
  };
}

/** `NVIDIA GeForce RTX 4090 (24217 MiB, 23840 MiB free)` → 23840 MiB, as `llama-server --list-devices` prints. */
function freeMemoryOf(description: string): number | undefined {
  const match = /\((\d+) MiB, (\d+) MiB free\)/.exec(description);
  return match ? Number(match[2]) * 1024 * 1024 : undefined;
}

export interface Link {
  rttSeconds: number;
  throughputBytesPerSecond: number;
  /** False when nothing was measured and `assumedLink` stands in. */
  measured: boolean;
  /** `rttSeconds` is the round trip of llama.cpp's own RPC protocol, measured by the head. */
  rpcMeasured?: boolean;
  /** herd's own ping, where `rttSeconds` is the RPC round trip instead. */
  pingRttSeconds?: number;
  /**
   * `rttSeconds` is the tunnel's measured RPC round trip to the same node over the same path: the
   * most a direct route there can take, which nothing has run over yet.
   */
  rpcFromTunnel?: boolean;
  /** The path's learnt correction to its network time (1 or absent without data). */
  correction?: number;
  correctionSamples?: number;
  /** How the head reaches the shard over it (`PlannedRoute.description`), where the caller said. */
  route?: string;
}

/**
 * What a link is taken to be before it is measured: gigabit Ethernet, about 0.5 ms round trip on a
 * busy LAN and 110 MB/s of payload (117 MB/s is the TCP ceiling).
 */
export const assumedLink: Link = { rttSeconds: 0.5e-3, throughputBytesPerSecond: 110e6, measured: false };

/**
 * The link between two nodes: the newest measurement each way, and when both ways were measured the
 * worse of the two, since RPC traffic goes both ways. A zero throughput means "not measured".
 */
export function linkBetween(links: readonly LinkMeasurement[], a: NodeId, b: NodeId): Link {
  return linkTable(links)(a, b);
}

/** `linkBetween` for many pairs: indexes the measurements once and remembers each answer. */
export function linkTable(links: readonly LinkMeasurement[]): (a: NodeId, b: NodeId) => Link {
  const newest = new Map<string, LinkMeasurement>();
  for (const link of links) {
    const key = `${link.from}\n${link.to}`;
    const known = newest.get(key);
    if (known === undefined || link.measuredAt > known.measuredAt) newest.set(key, link);
  }
  const answers = new Map<string, Link>();
  return (a, b) => {
    const key = a < b ? `${a}\n${b}` : `${b}\n${a}`;
    let answer = answers.get(key);
    if (answer === undefined) {
      answer = combine(a, b, [newest.get(`${a}\n${b}`), newest.get(`${b}\n${a}`)]);
      answers.set(key, answer);
    }
    return answer;
  };
}

function combine(a: NodeId, b: NodeId, both: Array<LinkMeasurement | undefined>): Link {
  if (a === b) return { rttSeconds: 0, throughputBytesPerSecond: Number.POSITIVE_INFINITY, measured: true };
  const measured = both.filter((link) => link !== undefined);
  if (measured.length === 0) return assumedLink;
  const throughputs = measured.map((link) => link.throughputBytesPerSecond).filter((value) => value > 0);
  return {
    rttSeconds: Math.max(...measured.map((link) => link.rttMs)) / 1000,
    throughputBytesPerSecond:
      throughputs.length > 0 ? Math.min(...throughputs) : assumedLink.throughputBytesPerSecond,
    measured: true,
  };
}

/**
 * Why these nodes cannot share a split, or undefined when they can: llama.cpp's RPC wire format
 * changes between versions, so a head and its RPC servers must run the same one.
 */
export function engineMismatch(members: readonly ResolvedNode[]): string | undefined {
  const versions = new Map<string, string[]>();
  for (const node of members) {
    if (node.engineVersion === undefined) continue;
    versions.set(node.engineVersion, [...(versions.get(node.engineVersion) ?? []), node.name]);
  }
  if (versions.size < 2) return undefined;
  const list = [...versions]
    .sort(([, a], [, b]) => a[0]!.localeCompare(b[0]!))
    .map(([version, names]) => `${names.join(", ")} ${version}`)
    .join("; ");
  return `their llama.cpp engines differ (${list}), and llama.cpp's RPC wire format changes between versions`;
}
