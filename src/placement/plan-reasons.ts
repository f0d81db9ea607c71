import type { NodeId } from "../protocol/ids.js";
import { type Configuration, gib } from "./configure.js";
import type { Problem } from "./explore.js";
import type { ModelShape } from "./memory-estimate.js";
import { assumedLink, type ResolvedNode } from "./resolve-nodes.js";

/** How many left-out nodes the reasons name one by one. */
const leftOutShown = 4;

/** What each sentence needs: the problem, the plan chosen, the plans that fit (best first) and all of them. */
interface ReasonInput {
  problem: Problem;
  best: Configuration;
  ranked: readonly Configuration[];
  all: readonly Configuration[];
  name: (id: NodeId) => string;
}

/** Sentences, for people, on why the plan uses these nodes, this split, these blocks and this head. */
export function planReasons(
  problem: Problem,
  best: Configuration,
  ranked: readonly Configuration[],
  all: readonly Configuration[],
): string[] {
  const name = (id: NodeId) => problem.usable.find((node) => node.id === id)?.name ?? id;
  const input: ReasonInput = { problem, best, ranked, all, name };
  return [
    memoryReason(input),
    ...nodeCountReasons(input),
    ...leftOutReasons(input),
    ...splitReasons(input),
    headReason(input),
    ...predictionReasons(input),
    ...calibrationReasons(input),
  ];
}

function speed(configuration: Configuration): string {
  return `${configuration.prediction!.decodeTokensPerSecond.toFixed(1)} tokens/s`;
}

function memoryReason({ problem: { context }, best }: ReasonInput): string {
  const total = (field: "weightBytes" | "kvBytes" | "computeBytes" | "totalBytes") =>
    best.shards.reduce((sum, shard) => sum + shard[field], 0);
  return (
    `${context.model.name} needs ${gib(total("weightBytes"))} of weights, ${gib(total("kvBytes"))} of KV cache ` +
    `(${context.contextSize} tokens over ${context.parallel} slot${context.parallel === 1 ? "" : "s"}) and ` +
    `${gib(total("computeBytes"))} of compute buffers: ${gib(total("totalBytes"))} with the safety margin.`
  );
}

/** Why one node, or why several. */
function nodeCountReasons({ problem, best, ranked, all, name }: ReasonInput): string[] {
  if (best.nodes.length === 1) {
    const shard = best.shards[0]!;
    const reasons = [
      `It fits on ${name(best.head)} alone (${gib(shard.totalBytes)} of ${gib(best.members[0]!.capacityBytes)}), ` +
        "and one node needs no network hops.",
    ];
    const split = ranked.find((configuration) => configuration.nodes.length > 1);
    if (split) {
      const perHop = (split.prediction!.networkSeconds * 1000) / (split.nodes.length - 1);
      reasons.push(
        `Splitting over ${split.nodes.length} nodes would predict ${speed(split)} instead of ${speed(best)}: ` +
          `each RPC hop costs about ${perHop.toFixed(1)} ms per token, more than the extra memory bandwidth saves.`,
      );
    }
    return reasons;
  }
  const single = ranked.find((configuration) => configuration.nodes.length === 1);
  const largest = all
    .filter((configuration) => configuration.nodes.length === 1)
    .sort((a, b) => b.members[0]!.capacityBytes - a.members[0]!.capacityBytes)[0];
  if (problem.minNodes > 1) return [`At least ${problem.minNodes} nodes were asked for.`];
  if (!single && largest) return [`No single node has room: ${largest.why}.`];
  if (single)
    return [
      `${best.nodes.length} nodes predict ${speed(best)}, faster than the best single node (${speed(single)} on ${name(single.head)}).`,
    ];
  return [];
}

/** Why each usable node the plan does not use was left out (the first few by name). */
function leftOutReasons({ problem, best, ranked, name }: ReasonInput): string[] {
  const reasons: string[] = [];
  const leftOut = problem.usable.filter((node) => !best.nodes.includes(node.id));
  const headVersion = best.members.find((node) => node.id === best.head)?.engineVersion;
  for (const node of leftOut.slice(0, leftOutShown)) {
    if (headVersion !== undefined && node.engineVersion !== undefined && node.engineVersion !== headVersion) {
      reasons.push(
        `Left out ${node.name}: its llama.cpp engine is ${node.engineVersion}, ${name(best.head)}'s is ${headVersion}; ` +
          "llama.cpp's RPC wire format changes between versions, so they never share a split (it can still run an instance or replica of its own).",
      );
      continue;
    }
    const added = ranked.find(
      (configuration) =>
        configuration.nodes.length === best.nodes.length + 1 &&
        configuration.nodes.includes(node.id) &&
        best.nodes.every((id) => configuration.nodes.includes(id)),
    );
    const withIt = added ?? ranked.find((configuration) => configuration.nodes.includes(node.id));
    const link = problem.context.link(best.head, node.id);
    const linkText = link.measured
      ? ` (its link to ${name(best.head)}: ${(link.rttSeconds * 1000).toFixed(2)} ms, ${(link.throughputBytesPerSecond / 1e9).toFixed(2)} GB/s)`
      : "";
    if (added) reasons.push(`Left out ${node.name}: adding it predicts ${speed(added)}${linkText}.`);
    else if (withIt)
      reasons.push(`Left out ${node.name}: the best plan with it predicts ${speed(withIt)}${linkText}.`);
    else reasons.push(`Left out ${node.name}: no plan with it fits within the limits asked.`);
  }
  if (leftOut.length > leftOutShown)
    reasons.push(`Left out ${leftOut.length - leftOutShown} more nodes likewise.`);
  return reasons;
}

/** Why this split mode, and how the work is divided. */
function splitReasons({ problem: { context }, best, all, name }: ReasonInput): string[] {
  const sameNodes = (mode: string) =>
    all.find(
      (configuration) => configuration.nodes.join() === best.nodes.join() && configuration.splitMode === mode,
    );
  if (best.splitMode === "layer") {
    const reasons = [
      `Layer split: the nodes run their blocks one after another, so only activations ` +
        `(${4 * context.shape.embeddingLength} bytes per token) cross the network.`,
    ];
    const tensor = sameNodes("tensor");
    if (tensor?.fits) {
      reasons.push(
        `Tensor split would predict ${speed(tensor)}: its ${2 * context.shape.layerCount} all-reduces per token cost more than reading in parallel saves.`,
      );
    } else if (tensor) reasons.push(`Tensor split is out: ${tensor.why}.`);
    reasons.push(
      `Blocks: ${best.shards.map((shard) => `${name(shard.node)} ${shard.layerStart}-${shard.layerEnd - 1}`).join(", ")}; ` +
        "faster memory takes more blocks, nodes of equal speed share by free memory.",
    );
    const output = outputReason(context.shape, best, name);
    if (output) reasons.push(output);
    return reasons;
  }
  if (best.splitMode === "tensor") {
    const layer = sameNodes("layer");
    return [
      `Tensor split: every node reads its slice of every block at once; over these links its ` +
        `${2 * context.shape.layerCount} all-reduces per token cost less than that saves` +
        (layer?.fits ? ` (layer split: ${speed(layer)}).` : "."),
      `Proportions: ${best.shards.map((shard) => `${name(shard.node)} ${(shard.fraction * 100).toFixed(1)}%`).join(", ")}, by memory bandwidth within memory.`,
    ];
  }
  return [];
}

/** Where a CPU-only head's layer split keeps the output matrix, where it had the choice. */
function outputReason(
  shape: ModelShape,
  best: Configuration,
  name: (id: NodeId) => string,
): string | undefined {
  if (best.otherOutputDecode === undefined) return undefined;
  const head = name(best.head);
  const last = name(best.rpcNodes.at(-1)!);
  const other = `${best.otherOutputDecode.toFixed(1)} tokens/s`;
  const logits = `${((4 * shape.vocabularyEstimate) / 1024).toFixed(0)} KiB`;
  return best.outputOnHead
    ? `${head} keeps the output matrix (${mib(shape.outputBytes)}) and computes it on its CPU: otherwise each token's logits (${logits}) would cross from ${last}, as llama.cpp places it (${other}).`
    : `The output matrix stays with ${last}, as llama.cpp places it: ${head} computing it on its CPU, so that activations cross instead of each token's logits (${logits}), would predict ${other}.`;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** Which node heads the instance, and how the preferred head compares. */
function headReason({ problem, best, ranked, name }: ReasonInput): string {
  const holdsOutput = best.shards.some(
    (shard) => shard.node === best.head && shard.layerEnd === problem.context.shape.layerCount,
  );
  let headText = `${name(best.head)} heads it: it runs llama-server and keeps the input embeddings`;
  if ((holdsOutput || best.outputOnHead) && best.splitMode !== "tensor") headText += " and the output layer";
  if (problem.preferredHead === best.head) headText += " (the preferred head)";
  else if (problem.preferredHead !== undefined) {
    const preferred = ranked.find((configuration) => configuration.head === problem.preferredHead);
    headText += preferred
      ? `; with ${name(problem.preferredHead)} as head the best plan predicts ${speed(preferred)}`
      : `; ${name(problem.preferredHead)} cannot head a plan that fits`;
  }
  return `${headText}.`;
}

/** The predicted speeds, and the links the prediction had to assume. */
function predictionReasons({ problem: { context }, best, name }: ReasonInput): string[] {
  const prediction = best.prediction!;
  const reasons = [
    `Predicted ${speed(best)} decode (${(prediction.computeSeconds * 1000).toFixed(1)} ms reading weights` +
      (prediction.networkSeconds > 0
        ? ` + ${(prediction.networkSeconds * 1000).toFixed(1)} ms network`
        : "") +
      ` per token) and ${prediction.prefillTokensPerSecond.toFixed(0)} tokens/s prefill.`,
  ];
  for (const node of best.rpcNodes) {
    const route = node === best.head ? undefined : context.link(best.head, node).route;
    if (route) reasons.push(`${name(best.head)} reaches ${name(node)} ${route}.`);
    if (!context.link(best.head, node).measured)
      reasons.push(
        `The link ${name(best.head)} ↔ ${name(node)} is not measured yet; assumed ` +
          `${assumedLink.rttSeconds * 1000} ms and ${assumedLink.throughputBytesPerSecond / 1e6} MB/s.`,
      );
  }
  return reasons;
}

/** What the prediction took from the nodes' own measurements and the corrections they learnt. */
function calibrationReasons({ problem: { context }, best, name }: ReasonInput): string[] {
  const reasons: string[] = [];
  for (const node of best.members) {
    const measured = node.calibration?.measured;
    if (measured)
      reasons.push(
        `${node.name}'s decode speed is its own measurement with its engine, not the chip table's guess: ` +
          `${(measured.bandwidthBytesPerSecond / 1e9).toFixed(1)} GB/s of weights read ` +
          `and ${(measured.tokenOverheadSeconds * 1000).toFixed(2)} ms per token besides.`,
      );
    // Only the head's own part takes its correction; a shard's share is in its RPC path's.
    const factor = node.computeCorrection ?? 1;
    if (factor !== 1 && node.id === best.head)
      reasons.push(`Applied ${correctionText(factor)} to ${node.name}'s compute time, ${learnt(node)}.`);
  }
  for (const shard of best.rpcNodes) {
    if (shard === best.head) continue;
    const link = context.link(best.head, shard);
    const path = `${name(best.head)} → ${name(shard)}`;
    if (link.rpcFromTunnel)
      reasons.push(
        `The ${path} RPC round trip is taken as ${(link.rttSeconds * 1000).toFixed(2)} ms, the tunnel's to ${name(shard)} over the same path in llama.cpp's own RPC protocol: nothing has run over this route yet, and it crosses the same path without the tunnel's two relays (herd's ping: ${((link.pingRttSeconds ?? 0) * 1000).toFixed(2)} ms).`,
      );
    if (link.rpcMeasured)
      reasons.push(
        `The ${path} RPC round trip is ${(link.rttSeconds * 1000).toFixed(2)} ms, measured in llama.cpp's own RPC protocol` +
          (link.pingRttSeconds !== undefined
            ? ` (herd's ping: ${(link.pingRttSeconds * 1000).toFixed(2)} ms).`
            : "."),
      );
    const factor = link.correction ?? 1;
    if (factor !== 1)
      reasons.push(
        `Applied ${correctionText(factor)} to the ${path} RPC path (${name(shard)}'s blocks and the hop), learnt from ${link.correctionSamples ?? 0} measured decode${link.correctionSamples === 1 ? "" : "s"} against the plan.`,
      );
  }
  return reasons;
}

/** `×1.23` (slower than the model says) or `×0.85`. */
function correctionText(factor: number): string {
  return `a correction of ×${factor.toFixed(2)}`;
}

function learnt(node: ResolvedNode): string {
  const samples = node.calibration?.correction?.samples ?? 0;
  return `learnt from ${samples} measured decode${samples === 1 ? "" : "s"} of its instances against their plans`;
}
