import type { PlanView } from "../client/herd-client.js";
import { planRdmaWarnings, shardRoute } from "../client/shard-route.js";
import { rdmaWarnings } from "../fabric/rdma-warnings.js";
import type { ClusterView } from "../protocol/cluster.js";
import { formatBytes } from "../util/format.js";
import { fasterPlacementNotes } from "./faster-placement.js";
import { renderInterfaces } from "./render-interfaces.js";
import { renderLinks } from "./render-links.js";
import { formatTable } from "./table.js";

/** The node table of `herd nodes` and `herd status`. */
export function renderNodes(view: ClusterView): string {
  return formatTable(
    ["NODE", "NAME", "ROLE", "STATE", "CPU", "MEMORY FREE/TOTAL", "DEVICES", "ENGINE", "SEEN"],
    view.nodes.map((node) => [
      node.id.slice(0, 8) + (node.id === view.self ? "*" : ""),
      node.name,
      node.role,
      node.state,
      node.profile ? `${node.profile.cpuCores} cores` : "?",
      node.profile
        ? `${formatBytes(node.profile.memoryAvailableBytes)}/${formatBytes(node.profile.memoryTotalBytes)}${node.profile.memoryLimited ? " (limit)" : ""}`
        : "?",
      node.profile ? node.profile.devices.map((device) => device.name).join(",") : "?",
      node.profile?.engine
        ? `${node.profile.engine.backend} ${shortVersion(node.profile.engine.version)}`
        : "-",
      node.id === view.self ? "self" : `${(node.lastSeenMsAgo / 1000).toFixed(1)}s ago`,
    ]),
  );
}

/** `0.5.0-dev (build 1, commit de3ff81)` → `0.5.0-dev de3ff81`: enough to tell two builds apart. */
function shortVersion(version: string): string {
  const commit = /commit ([0-9a-f]+)/.exec(version)?.[1];
  return `${version.split(" ")[0]}${commit ? ` ${commit}` : ""}`;
}

/** A line for each version that differs among live nodes: llama.cpp's, which splits must not mix, and herd's. */
export function renderVersionNotes(view: ClusterView): string[] {
  const live = view.nodes.filter((node) => node.state !== "gone" && node.profile);
  const byVersion = (version: (node: (typeof live)[number]) => string | undefined) => {
    const groups = new Map<string, string[]>();
    for (const node of live) {
      const key = version(node);
      if (key !== undefined) groups.set(key, [...(groups.get(key) ?? []), node.name]);
    }
    return [...groups].map(([key, names]) => `${names.join(", ")} ${key}`).join("; ");
  };
  const notes: string[] = [];
  const engines = new Set(live.map((node) => node.profile!.engine?.version).filter(Boolean));
  if (engines.size > 1)
    notes.push(
      `llama.cpp engines differ (${byVersion((node) => node.profile!.engine?.version)}): a split never mixes them, since llama.cpp's RPC wire format changes between versions; instances and replicas on one node serve from any`,
    );
  if (new Set(live.map((node) => node.profile!.herdVersion)).size > 1)
    notes.push(`herd versions differ (${byVersion((node) => node.profile!.herdVersion)})`);
  return notes;
}

/** The whole picture of `herd status`: nodes, links (every path with `allPaths`), coordinator and desired state. */
export function renderStatus(view: ClusterView, allPaths = false): string {
  const names = new Map(view.nodes.map((node) => [node.id, node.name]));
  const coordinator = view.coordinator ? (names.get(view.coordinator) ?? view.coordinator) : "none";
  const alive = view.nodes.filter((node) => node.state === "alive").length;
  return [
    `cluster: ${alive}/${view.nodes.length} nodes alive, coordinator ${coordinator}, desired state epoch ${view.epoch} (${view.desired.instances.length} instances)`,
    "",
    renderNodes(view),
    ...renderVersionNotes(view),
    ...renderInterfaces(view),
    "",
    renderLinks(view, allPaths),
    ...rdmaWarnings(view),
  ].join("\n");
}

/** `herd plan` for `model`: the chosen placement, its memory and speed, the reasons, a faster placement than a READY instance's, and the alternatives. */
export function renderPlan(plan: PlanView, view: ClusterView, model: string): string {
  const name = (id: string) => view.nodes.find((node) => node.id === id)?.name ?? id.slice(0, 8);
  const lines = [
    `head ${name(plan.head)}, split ${plan.splitMode}` +
      (plan.predicted
        ? `, predicted ${plan.predicted.decodeTokensPerSecond.toFixed(1)} tokens/s decode, ${plan.predicted.prefillTokensPerSecond.toFixed(0)} tokens/s prefill`
        : ""),
    "",
    formatTable(
      ["NODE", "LAYERS", "SHARE", "MEMORY NEEDED", "AVAILABLE", "REACHED OVER"],
      plan.shards.map((shard) => {
        const memory = plan.memoryPerNode?.find((entry) => entry.node === shard.node);
        return [
          name(shard.node),
          `${shard.layerStart}-${shard.layerEnd - 1}`,
          `${(shard.fraction * 100).toFixed(0)}%`,
          memory ? formatBytes(memory.neededBytes) : "?",
          memory ? formatBytes(memory.availableBytes) : "?",
          shardRoute(plan, shard.node, view),
        ];
      }),
    ),
  ];
  const direct = (plan.rpcRoutes ?? []).filter((route) => route.path?.private).length;
  if (plan.rpcRoutes)
    lines.push(
      "",
      direct > 0
        ? `rpc transport: ${direct} shard(s) directly over a private cable (their RPC server bound to its address alone), the rest through the keyed tunnel`
        : `rpc transport: ${plan.rpcTransport ?? "tunnel"}${plan.rpcTransport === "direct" ? "" : " (no private cable between the head and a shard)"}`,
    );
  if (plan.reasons?.length) lines.push("", "why:", ...plan.reasons.map((reason) => `  - ${reason}`));
  lines.push(...planRdmaWarnings(plan, view));
  const notes = fasterPlacementNotes(plan, view, model);
  if (notes.length > 0) lines.push("", ...notes);
  if (plan.alternatives?.length) {
    lines.push("", "alternatives:");
    for (const alternative of plan.alternatives) {
      const speed = alternative.predicted
        ? `${alternative.predicted.decodeTokensPerSecond.toFixed(1)} tokens/s`
        : "does not fit";
      lines.push(
        `  - ${alternative.nodes.map(name).join(", ")} (${alternative.splitMode}): ${speed}; ${alternative.why}`,
      );
    }
  }
  if (plan.draftSuggestion) {
    lines.push(
      "",
      `speculative decoding: ${plan.draftSuggestion.model} could draft (${plan.draftSuggestion.reason})`,
    );
  }
  return lines.join("\n");
}

/** `herd ps`: every instance in the desired state, where its parts run, its state, slots in use and tokens/s. */
export function renderInstances(view: ClusterView): string {
  const name = (id: string) => view.nodes.find((node) => node.id === id)?.name ?? id.slice(0, 8);
  return formatTable(
    [
      "INSTANCE",
      "MODEL",
      "HEAD",
      "SPLIT",
      "SHARDS",
      "CONTEXT",
      "SLOTS",
      "TOK/S",
      "SERVED",
      "STATE",
      "REASON",
    ],
    view.desired.instances.map((instance) => {
      const summary = view.instances.find((candidate) => candidate.id === instance.id);
      const stats = summary?.state === "READY" ? summary.stats : undefined;
      const plan = instance.plan;
      const shards =
        plan && plan.splitMode !== "none"
          ? plan.shards
              .map((shard) => `${name(shard.node)}:${shard.layerStart}-${shard.layerEnd - 1}`)
              .join(" ")
          : "-";
      return [
        instance.id,
        instance.model,
        name(instance.node),
        plan?.splitMode ?? "none",
        shards,
        String(instance.contextSize),
        stats ? `${stats.slotsInUse}/${instance.parallel}` : String(instance.parallel),
        stats ? stats.tokensPerSecond.toFixed(1) : "-",
        String(summary?.served ?? 0),
        instance.suspended ? "FAILED" : instance.draining ? "DRAINING" : (summary?.state ?? "PLANNED"),
        instance.suspended ??
          (instance.draining
            ? "no new requests; unloaded when those in flight are done"
            : (summary?.reason ?? "waiting for the head node")),
      ];
    }),
  );
}
