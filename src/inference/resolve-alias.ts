import { type Alias, type AliasResolution, parseAliasEntry } from "../protocol/aliases.js";
import type { RequestPolicy, Upstream } from "../protocol/upstream.js";

export type { AliasResolution };

/** What choosing an alias's entry looks at. */
export interface AliasSituation {
  alias: Alias;
  /** Whether a model has an instance that takes requests now (READY, not draining, here or on a live node). */
  isReady: (model: string) => boolean;
  /** The cluster's upstreams. */
  upstreams: readonly Upstream[];
  /** `local-only`: the request may not leave the cluster, so upstream entries are skipped. */
  policy: RequestPolicy;
}

/**
 * The first entry of the alias's chain that is READY and that the request's policy allows. A model
 * entry is READY when one of its instances takes requests; an upstream entry when the upstream is
 * in the cluster. When none is, the reason names each entry and why it was passed over.
 * @example resolveAlias({ alias: { name: "coder", chain: ["big", "small"], ... }, isReady: (m) => m === "small", upstreams: [], policy: "any" })
 *   // { kind: "model", entry: "small", model: "small" }
 */
export function resolveAlias(situation: AliasSituation): AliasResolution {
  const passedOver: string[] = [];
  let keptInside = false;
  for (const entry of situation.alias.chain) {
    const parsed = parseAliasEntry(entry);
    if (parsed.kind === "model") {
      if (situation.isReady(parsed.model)) return { kind: "model", entry, model: parsed.model };
      passedOver.push(`${entry} (not READY)`);
      continue;
    }
    const upstream = situation.upstreams.find((candidate) => candidate.name === parsed.upstream);
    if (!upstream) {
      passedOver.push(`${entry} (no such upstream)`);
    } else if (situation.policy === "local-only") {
      keptInside = true;
      passedOver.push(`${entry} (this request may not leave the cluster)`);
    } else {
      const listed = upstream.models.find((model) => model.name === parsed.model);
      return { kind: "upstream", entry, upstream, upstreamModel: listed?.upstreamName ?? parsed.model };
    }
  }
  return {
    kind: "unavailable",
    state: keptInside ? "LOCAL-ONLY" : "NOT-READY",
    reason: `no entry of alias '${situation.alias.name}' can serve this request: ${passedOver.join(", ")}`,
  };
}
