import type { ClusterView, InstanceSummary, PlacedInstance } from "../protocol/cluster.js";
import type { HealthFinding, HealthReport, HealthVerdict } from "../protocol/health.js";
import { formatBytes } from "../util/format.js";

export interface HealthInputs {
  view: ClusterView;
  /** API keys not revoked; every node of the cluster holds the same set. */
  activeApiKeys: number;
  now: Date;
}

/** Below this share of free space on the disk that holds the models, a pull may not fit. */
const lowDiskShare = 0.1;

/**
 * The cluster's health as one verdict with a finding per problem. `down` when nothing that is
 * loaded can be served (every loaded model lacks a READY instance); `degraded` when anything else
 * is found: a node suspected or gone, an instance not READY, an engine restarted in the last hour,
 * a disk nearly full, engine versions that differ, an exposed API without keys, a corrupt model.
 */
export function assessHealth({ view, activeApiKeys, now }: HealthInputs): HealthReport {
  const nameOf = (id: string) => view.nodes.find((node) => node.id === id)?.name ?? id.slice(0, 8);
  const findings: HealthFinding[] = [];
  const warn = (kind: HealthFinding["kind"], subject: string, message: string) =>
    findings.push({ severity: "warning", kind, subject, message });

  for (const node of view.nodes) {
    if (node.state === "alive") continue;
    warn(
      "node-unreachable",
      node.name,
      `node ${node.name}: ${node.state} (not heard from for ${(node.lastSeenMsAgo / 1000).toFixed(1)} s)`,
    );
  }

  const summaries = new Map(view.instances.map((summary) => [summary.id, summary]));
  const byModel = new Map<string, PlacedInstance[]>();
  for (const instance of view.desired.instances)
    byModel.set(instance.model, [...(byModel.get(instance.model) ?? []), instance]);
  let served = 0;
  for (const [model, placed] of byModel) {
    const serving = placed.filter(
      (instance) => summaries.get(instance.id)?.state === "READY" && instance.draining === undefined,
    );
    const waiting = placed.filter((instance) => !serving.includes(instance));
    if (serving.length > 0) served++;
    if (serving.length === 0) {
      findings.push({
        severity: "critical",
        kind: "model-unavailable",
        subject: model,
        message: `model ${model} cannot be served: ${waiting.map((instance) => describeInstance(instance, summaries.get(instance.id), nameOf, view)).join("; ")}`,
      });
      continue;
    }
    for (const instance of waiting) {
      if (instance.draining !== undefined) continue;
      warn(
        "instance-not-ready",
        instance.id,
        `instance ${describeInstance(instance, summaries.get(instance.id), nameOf, view)}; ${serving.length} of ${placed.length} instances of ${model} serve`,
      );
    }
  }

  for (const summary of view.instances) {
    if (summary.restartsLastHour === 0) continue;
    const times = summary.restartsLastHour === 1 ? "once" : `${summary.restartsLastHour} times`;
    warn(
      "engine-restarted",
      summary.id,
      `instance ${summary.id} on ${nameOf(summary.node)}: engine restarted ${times} in the last hour${summary.lastExit ? ` (last: ${summary.lastExit})` : ""}`,
    );
  }

  const reachable = view.nodes.filter((node) => node.state !== "gone" && node.profile);
  for (const node of reachable) {
    const health = node.profile!.health;
    const disk = health?.modelsDisk;
    if (disk && disk.totalBytes > 0 && disk.freeBytes / disk.totalBytes < lowDiskShare) {
      warn(
        "disk-low",
        node.name,
        `node ${node.name}: ${formatBytes(disk.freeBytes)} free of ${formatBytes(disk.totalBytes)} (${((disk.freeBytes / disk.totalBytes) * 100).toFixed(1)}%) on the disk that holds its models`,
      );
    }
    if (health?.apiExposed && health.authDisabled) {
      warn(
        "api-keys-missing",
        node.name,
        `node ${node.name}: its API is on the network with no key asked for (--insecure-no-auth)`,
      );
    } else if (health?.apiExposed && activeApiKeys === 0) {
      warn(
        "api-keys-missing",
        node.name,
        `node ${node.name}: its API is on the network but the cluster has no API key, so it refuses every request (herd keys create --scope admin)`,
      );
    }
    for (const model of health?.corruptModels ?? []) {
      warn(
        "model-corrupt",
        `${node.name}/${model}`,
        `node ${node.name}: model ${model} is corrupt (its file no longer matches the sha256 recorded when it was stored); pull it again (herd pull) or remove it`,
      );
    }
  }

  const reference = referenceEngineVersion(reachable, view.self);
  for (const node of reachable) {
    const version = node.profile!.engine?.version;
    if (version === undefined || version === reference) continue;
    warn(
      "engine-version-differs",
      node.name,
      `node ${node.name}: engine ${version}, the rest run ${reference}; it is never put in a split with them`,
    );
  }

  const verdict: HealthVerdict =
    byModel.size > 0 && served === 0 ? "down" : findings.length > 0 ? "degraded" : "healthy";
  const alive = view.nodes.filter((node) => node.state === "alive").length;
  const ready = view.instances.filter((summary) => summary.state === "READY").length;
  return {
    verdict,
    summary: `${alive}/${view.nodes.length} nodes alive, ${served}/${byModel.size} models served (${ready} ${ready === 1 ? "instance" : "instances"} READY)`,
    findings,
    checkedAt: now.toISOString(),
    node: nameOf(view.self),
  };
}

/** Why an instance does not serve, in a few words. */
function describeInstance(
  instance: PlacedInstance,
  summary: InstanceSummary | undefined,
  nameOf: (id: string) => string,
  view: ClusterView,
): string {
  if (instance.draining !== undefined) return `${instance.id} draining`;
  if (summary) return `${instance.id} ${summary.state} (${summary.reason})`;
  if (instance.suspended !== undefined) return `${instance.id} not placed (${instance.suspended})`;
  const head = view.nodes.find((node) => node.id === instance.node);
  return `${instance.id} unreported: its head ${nameOf(instance.node)} is ${head?.state ?? "not in the cluster"}`;
}

/** The engine version most nodes run; on a tie, the answering node's own. */
function referenceEngineVersion(nodes: ClusterView["nodes"], self: string): string | undefined {
  const counts = new Map<string, number>();
  for (const node of nodes) {
    const version = node.profile!.engine?.version;
    if (version !== undefined) counts.set(version, (counts.get(version) ?? 0) + 1);
  }
  const own = nodes.find((node) => node.id === self)?.profile?.engine?.version;
  let best: string | undefined;
  for (const [version, count] of counts) {
    const bestCount = best === undefined ? -1 : counts.get(best)!;
    if (count > bestCount || (count === bestCount && version === own)) best = version;
  }
  return best;
}
