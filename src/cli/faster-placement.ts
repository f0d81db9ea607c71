import type { PlanView } from "../client/herd-client.js";
import type { ClusterView } from "../protocol/cluster.js";
import type { RpcRoute } from "../protocol/instance-plan.js";

/** A plan predicting this much more than a running instance's own prediction is worth saying so. */
const fasterBy = 1.1;

/**
 * `herd plan`'s note on the model's READY instances that this plan would place better: a shard it
 * reaches directly over a private cable that the instance reaches through the tunnel (the cable
 * came back after the instance was placed again without it), or a predicted decode at least 10%
 * faster. herd never moves a READY instance by itself; the note says how to.
 */
export function fasterPlacementNotes(plan: PlanView, view: ClusterView, model: string): string[] {
  const name = (id: string) => view.nodes.find((node) => node.id === id)?.name ?? id.slice(0, 8);
  const notes: string[] = [];
  for (const instance of view.desired.instances) {
    if (instance.model !== model || instance.suspended || instance.draining || !instance.plan) continue;
    const running = view.instances.find((summary) => summary.id === instance.id);
    if (running?.state !== "READY") continue;
    const placed = instance.plan;
    const gains: string[] = [];
    for (const [index, node] of (plan.rpcNodes ?? []).entries()) {
      const path = privatePath(plan.rpcRoutes?.[index]);
      const placedIndex = (placed.rpcNodes as readonly string[]).indexOf(node);
      if (!path || placedIndex < 0) continue;
      const now = placed.rpcRoutes?.[placedIndex];
      const nowPath = privatePath(now);
      if (nowPath?.from === path.from && nowPath.to === path.to) continue;
      const how =
        now?.transport === "direct"
          ? `over ${now.path ? `${now.path.from} -> ${now.path.to}` : now.host}`
          : "through the tunnel";
      gains.push(
        `${name(node)} directly over ${path.from} -> ${path.to} (${path.kind}), which it reaches ${how}`,
      );
    }
    const before = placed.predictedDecodeTokensPerSecond;
    const after = plan.predicted?.decodeTokensPerSecond;
    const quicker = before !== undefined && after !== undefined && after >= before * fasterBy;
    if (gains.length === 0 && !quicker) continue;
    // The predictions only where they agree with the path: a prediction learnt on the old path
    // can still rate the cable lower for a while after it comes back.
    const speeds =
      before !== undefined && after !== undefined && after > before
        ? ` (predicted ${after.toFixed(1)} tokens/s, against ${before.toFixed(1)} when ${instance.id} was placed)`
        : "";
    notes.push(
      `a faster placement is available for ${instance.id}${speeds}` +
        (gains.length > 0 ? `: this plan reaches ${gains.join("; ")}` : "") +
        `. herd does not move a READY instance by itself: 'herd unload ${instance.id}' and load ${model} again to move it`,
    );
  }
  return notes;
}

/** The path of a direct route over a private cable, or undefined. */
const privatePath = (route: RpcRoute | undefined) =>
  route?.transport === "direct" && route.path?.private ? route.path : undefined;
