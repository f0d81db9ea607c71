import type { NodeId } from "../protocol/ids.js";
import { type CostBreakdown, type CostDevice, predictSpeed } from "./cost-model.js";
import { splitFractions, splitLayers } from "./layer-split.js";
import { type ModelShape, maxLayersWithin, type ShardLoad, shardMemory } from "./memory-estimate.js";
import type { PlacementModel, Shard, ShardBackend, SplitMode } from "./placement-types.js";
import type { Link, ResolvedNode } from "./resolve-nodes.js";
import { tensorSplitBlocker } from "./tensor-split-support.js";

/** What every configuration of one planning run shares. */
export interface PlanningContext {
  model: PlacementModel;
  shape: ModelShape;
  contextSize: number;
  parallel: number;
  /** The link between two nodes (`linkTable` of the cluster's measurements). */
  link: (a: NodeId, b: NodeId) => Link;
  /** The request named the split mode itself. */
  splitForced: boolean;
  /** What the head holds besides its share (a draft model). */
  headExtraBytes: number;
}

/** One way to run the model: a set of nodes, a head, a split, and what follows from them. */
export interface Configuration {
  nodes: NodeId[];
  head: NodeId;
  splitMode: SplitMode;
  fits: boolean;
  /** Why it does not fit (empty when it does). */
  why: string;
  shards: Shard[];
  rpcNodes: NodeId[];
  tensorSplit: number[];
  gpuLayers: number;
  members: readonly ResolvedNode[];
  prediction?: CostBreakdown;
  /**
   * A CPU-only head keeps the output matrix (`--override-tensor`) rather than the last RPC shard:
   * each token's activations cross to the head instead of its logits.
   */
  outputOnHead: boolean;
  /** Where the head could keep the output matrix: the decode predicted with the other choice. */
  otherOutputDecode?: number;
}

interface Device {
  node: ResolvedNode;
  backend: ShardBackend;
  load: Omit<ShardLoad, "blockFraction">;
}

/**
 * Builds the configuration of `members` headed by `head` in `mode`; `fits` says whether it is possible.
 * A layer split under a CPU-only head is built twice where the model's output matrix is a tensor of
 * its own: with it on the last shard (llama.cpp's choice), whose logits then cross to the head each
 * token (4 B × vocabulary), and with it on the head; the faster of those that fit is kept.
 */
export function configure(
  context: PlanningContext,
  members: readonly ResolvedNode[],
  head: ResolvedNode,
  mode: SplitMode,
): Configuration {
  const onShard = configureWith(context, members, head, mode, false);
  if (mode !== "layer" || head.accelerated || members.length < 2 || !context.shape.separateOutput)
    return onShard;
  const onHead = configureWith(context, members, head, mode, true);
  const decode = (configuration: Configuration) => configuration.prediction?.decodeTokensPerSecond;
  if (!onHead.fits) return onShard;
  if (!onShard.fits) return onHead;
  return decode(onHead)! > decode(onShard)!
    ? { ...onHead, otherOutputDecode: decode(onShard) }
    : { ...onShard, otherOutputDecode: decode(onHead) };
}

function configureWith(
  context: PlanningContext,
  members: readonly ResolvedNode[],
  head: ResolvedNode,
  mode: SplitMode,
  outputOnHead: boolean,
): Configuration {
  const { devices, remotes } = deviceOrder(context, members, head, mode, outputOnHead);
  const base: Configuration = {
    nodes: members.map((node) => node.id).sort(compareIds),
    head: head.id,
    splitMode: mode,
    fits: false,
    why: "",
    shards: [],
    rpcNodes: [...(mode === "tensor" && !head.accelerated ? [head] : []), ...remotes].map((node) => node.id),
    tensorSplit: [],
    gpuLayers: 0,
    members,
    outputOnHead,
  };
  // With tensor split every device holds its proportion of the output layer too.
  const memory: DeviceMemory = (device, blockFraction) =>
    shardMemory(context.shape, context.contextSize, context.parallel, {
      ...device.load,
      outputFraction: mode === "tensor" ? blockFraction : device.load.outputFraction,
      blockFraction,
    });
  const division =
    mode === "tensor"
      ? tensorDivision(context, devices, head, remotes, memory)
      : layerDivision(context, devices, head, mode, memory);
  if ("why" in division) return { ...base, why: division.why };
  const { fractions, counts } = division;

  let start = 0;
  const shards: Shard[] = devices.map((device, index) => {
    const layerStart = mode === "tensor" ? 0 : start;
    const layerEnd = layerStart + counts[index]!;
    if (mode !== "tensor") start = layerEnd;
    return {
      node: device.node.id,
      backend: device.backend,
      layerStart,
      layerEnd,
      fraction: fractions[index]!,
      ...memory(device, fractions[index]!),
    };
  });
  const configured = { ...base, tensorSplit: division.tensorSplit, gpuLayers: division.gpuLayers };
  if (devices.some((device, index) => shards[index]!.totalBytes > device.node.capacityBytes)) {
    const step = mode === "tensor" ? 1 / 1000 : 1 / context.shape.layerCount;
    return { ...configured, why: whyNot(devices, memory, step) };
  }

  const costDevices: CostDevice[] = devices.map((device, index) => ({
    node: device.node,
    link: context.link(head.id, device.node.id),
    remote: device.backend === "rpc",
    blockFraction: fractions[index]!,
    outputFraction: mode === "tensor" ? fractions[index]! : device.load.outputFraction,
  }));
  return { ...configured, fits: true, shards, prediction: predictSpeed(context.shape, mode, costDevices) };
}

type DeviceMemory = (device: Device, blockFraction: number) => ReturnType<typeof shardMemory>;

/** How the model's blocks are divided among the devices, or why they cannot be. */
type Division =
  | { fractions: number[]; counts: number[]; tensorSplit: number[]; gpuLayers: number }
  | { why: string };

/**
 * The devices in llama.cpp's order (src/llama.cpp, llama_prepare_model_devices): layer split puts
 * RPC servers before local GPUs and the output layer with the last device; blocks kept on the CPU
 * come first. Tensor split takes devices in registration order (local GPUs, then `--rpc`) and no CPU.
 * `outputOnHead`: a CPU-only head's layer split with the output matrix overridden to the head's CPU.
 */
function deviceOrder(
  context: PlanningContext,
  members: readonly ResolvedNode[],
  head: ResolvedNode,
  mode: SplitMode,
  outputOnHead: boolean,
): { devices: Device[]; remotes: ResolvedNode[] } {
  // RPC servers go in order of capacity, the largest last: with a CPU-only head it holds the output layer.
  const remotes = members
    .filter((node) => node.id !== head.id)
    .sort((a, b) => a.capacityBytes - b.capacityBytes || compareIds(a.id, b.id));
  const headBackend: ShardBackend = head.accelerated ? "local-accelerator" : "local-cpu";
  const rpc = (node: ResolvedNode, holdsOutput: boolean): Device => ({
    node,
    backend: "rpc",
    load: { isHead: false, outputFraction: holdsOutput ? 1 : 0 },
  });
  const local = (holdsOutput: boolean): Device => ({
    node: head,
    backend: headBackend,
    load: { isHead: true, outputFraction: holdsOutput ? 1 : 0, extraBytes: context.headExtraBytes },
  });
  if (mode === "none") return { devices: [local(true)], remotes };
  // A CPU-only head takes part in a tensor split through an RPC server of its own on loopback,
  // since llama.cpp leaves the host CPU out of tensor split.
  if (mode === "tensor") {
    const headDevice: Device = head.accelerated
      ? local(false)
      : {
          ...rpc(head, false),
          load: { isHead: true, outputFraction: 0, extraBytes: context.headExtraBytes },
        };
    return { devices: [headDevice, ...remotes.map((node) => rpc(node, false))], remotes };
  }
  if (head.accelerated)
    return { devices: [...remotes.map((node) => rpc(node, false)), local(true)], remotes };
  return {
    devices: [
      local(outputOnHead),
      ...remotes.map((node, index) => rpc(node, !outputOnHead && index === remotes.length - 1)),
    ],
    remotes,
  };
}

/** Tensor split: every device takes a proportion of every block, by bandwidth within memory. */
function tensorDivision(
  context: PlanningContext,
  devices: Device[],
  head: ResolvedNode,
  remotes: ResolvedNode[],
  memory: DeviceMemory,
): Division {
  const layers = context.shape.layerCount;
  const blocker = tensorSplitBlocker(
    context.model.architecture,
    head,
    remotes,
    context.link,
    context.splitForced,
  );
  if (blocker) return { why: blocker };
  const split = splitFractions(
    devices.map((device) => {
      const empty = memory(device, 0).totalBytes;
      const perWhole = memory(device, 1).totalBytes - empty || 1;
      return {
        weight: device.node.bandwidthBytesPerSecond,
        max: (device.node.capacityBytes - empty) / perWhole,
      };
    }),
  );
  if (!split || split.some((fraction) => fraction <= 0)) return { why: whyNot(devices, memory, 1 / 1000) };
  const thousandths = split.map((fraction) => Math.max(1, Math.round(fraction * 1000)));
  const total = thousandths.reduce((sum, value) => sum + value, 0);
  return {
    fractions: thousandths.map((value) => value / total),
    counts: devices.map(() => layers),
    tensorSplit: thousandths,
    gpuLayers: layers + 1,
  };
}

/** Layer split (or none): whole blocks per device, the fastest memory taking the most. */
function layerDivision(
  context: PlanningContext,
  devices: Device[],
  head: ResolvedNode,
  mode: SplitMode,
  memory: DeviceMemory,
): Division {
  const layers = context.shape.layerCount;
  const counts = splitLayers(
    layers,
    devices.map((device) => ({
      max: layerLimit(context, device.node.capacityBytes, device.load),
      // Fastest first: a block costs bytes / bandwidth wherever it is; equal speeds share by memory.
      group: -Math.round(Math.log(device.node.bandwidthBytesPerSecond) * 100),
    })),
  );
  if (!counts) return { why: whyNot(devices, memory, 1 / layers) };
  return {
    fractions: counts.map((count) => count / layers),
    counts,
    // Every device but a CPU-only head's CPU takes a `--tensor-split` entry; the last one +1, as
    // llama.cpp counts the output layer there (an override moves only its matrix).
    tensorSplit:
      mode === "layer"
        ? devices.flatMap((device, index) =>
            device.backend === "local-cpu" ? [] : [counts[index]! + (index === devices.length - 1 ? 1 : 0)],
          )
        : [],
    // A CPU-only head keeps its blocks by offloading only the rest (llama.cpp keeps the first ones).
    gpuLayers: head.accelerated ? layers + 1 : mode === "layer" ? layers + 1 - counts[0]! : 0,
  };
}

/**
 * `maxLayersWithin`, remembered per planning context: the search asks the same question for every
 * set a node is in. The context's identity stands for its model and context size (changed contexts
 * are new objects); the key holds the rest.
 */
const layerLimits = new WeakMap<PlanningContext, Map<string, number>>();
function layerLimit(context: PlanningContext, capacityBytes: number, load: Device["load"]): number {
  let limits = layerLimits.get(context);
  if (!limits) {
    limits = new Map();
    layerLimits.set(context, limits);
  }
  const key = `${capacityBytes}/${load.isHead}/${load.outputFraction}/${load.extraBytes ?? 0}`;
  let limit = limits.get(key);
  if (limit === undefined) {
    limit = maxLayersWithin(capacityBytes, context.shape, context.contextSize, context.parallel, load);
    limits.set(key, limit);
  }
  return limit;
}

/** Says what is missing: one node's room, all of them together, or room for a node's smallest share. */
function whyNot(
  devices: readonly Device[],
  memory: (device: Device, blockFraction: number) => { totalBytes: number },
  smallestShare: number,
): string {
  // Memory is linear in the share, so any division that adds up to the whole needs the same in total.
  const total = devices.reduce((sum, device) => sum + memory(device, 1 / devices.length).totalBytes, 0);
  const capacity = devices.reduce((sum, device) => sum + device.node.capacityBytes, 0);
  if (devices.length === 1) return `${devices[0]!.node.name} needs ${gib(total)}, has ${gib(capacity)}`;
  if (total > capacity) return `together they need ${gib(total)}, have ${gib(capacity)}`;
  const cramped = devices.find(
    (device) => memory(device, smallestShare).totalBytes > device.node.capacityBytes,
  );
  if (cramped)
    return `${cramped.node.name} has ${gib(cramped.node.capacityBytes)}, too little for any share next to its fixed buffers`;
  return "no division of whole blocks fits every node's memory";
}

export function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
