import { type Alias, type AliasSwitch, parseAliasEntry } from "../protocol/aliases.js";
import type { ClusterView } from "../protocol/cluster.js";

/** One of an alias's model entries, as the cluster holds it now. */
export interface ModelEntryState {
  kind: "model";
  entry: string;
  /** Its instances in the desired state. */
  instances: ReadonlyArray<{
    id: string;
    /**
     * `serving`: READY and taking requests; `loading`: on live nodes, not READY yet; `down`:
     * suspended, or a node it uses is not alive; `draining`: being unloaded.
     */
    state: "serving" | "loading" | "down" | "draining";
    /** The names of the nodes it runs on. */
    nodes: readonly string[];
    /** Those of its nodes that are not alive. */
    left: readonly string[];
  }>;
}

/** An entry of an alias's chain, as the cluster holds it now. */
export type AliasEntryState = ModelEntryState | { kind: "upstream"; entry: string; present: boolean };

/** Whether a model fits the live nodes now, or why not in the planner's figures. */
export type FitVerdict = { fits: true } | { fits: false; reason: string };

export interface AliasPlacementSituation {
  alias: Alias;
  /** The alias's entries in chain order. */
  entries: readonly AliasEntryState[];
  /** Asked only of entries that would need to be loaded or placed again. */
  fit: (model: string) => FitVerdict;
  now: number;
}

/** What the coordinator should do for an alias. */
export type AliasPlacementAction =
  /** Load the best entry that fits (`--keep-loaded`). */
  | { type: "load"; model: string; reason: string }
  /** A better entry is READY: the fallback's instance takes no new requests and is unloaded once idle. */
  | { type: "drain"; model: string; instanceId: string; reason: string }
  /** The entry that serves the alias changed: kept in its switch history and published. */
  | { type: "record-switch"; switch: AliasSwitch };

/**
 * The keep-loaded rule, decided. Walking the chain, the target is the first entry that serves, is
 * loading, or could run now: a model that is down but fits (recovery places it again) or that is
 * not loaded but fits (loaded here). Entries before it that no longer fit are left to recovery,
 * which places them again when their nodes return. Once the target serves, the entries after it
 * are drained; until then they keep answering. Whatever the rule, a change of the entry that
 * serves is recorded with the reason each better entry was passed over.
 */
export function decideAliasPlacement(situation: AliasPlacementSituation): AliasPlacementAction[] {
  const { alias, entries } = situation;
  const actions: AliasPlacementAction[] = [];
  const passedOver: string[] = [];
  const fitOf = memoize(situation.fit);
  let target: AliasEntryState | undefined;
  if (alias.keepLoaded) {
    for (const entry of entries) {
      if (entry.kind === "upstream") {
        if (entry.present) {
          target = entry;
          break;
        }
        continue;
      }
      const states = new Set(entry.instances.map((instance) => instance.state));
      if (states.has("serving") || states.has("loading")) {
        target = entry;
        break;
      }
      // A model not loaded at all, or down: does it fit the nodes alive now?
      if (states.has("down") || entry.instances.length === 0) {
        const verdict = fitOf(entry.entry);
        if (verdict.fits) {
          target = entry;
          if (!states.has("down")) {
            const why = passedOver.length > 0 ? `${passedOver.join("; ")}; ` : "";
            actions.push({
              type: "load",
              model: entry.entry,
              reason: `${why}loading ${entry.entry} for ${alias.name}`,
            });
          }
          break;
        }
      }
      passedOver.push(whyNot(entry, fitOf));
    }
  }
  const serving = entries.find(servesNow);
  if (target && target === serving) {
    for (const entry of entries.slice(entries.indexOf(target) + 1)) {
      if (entry.kind !== "model") continue;
      for (const instance of entry.instances) {
        if (instance.state === "draining") continue;
        actions.push({
          type: "drain",
          model: entry.entry,
          instanceId: instance.id,
          reason: `${target.entry} is READY${where(target)}; ${alias.name} no longer needs ${entry.entry}`,
        });
      }
    }
  }
  const last = alias.switches.at(-1)?.to ?? null;
  const now = serving?.entry ?? null;
  // No entry serving is news only when nothing is on its way: a fallback loading is part of a switch.
  const onItsWay = actions.some((action) => action.type === "load") || entries.some(isLoading);
  if (now !== last && (now !== null || !onItsWay)) {
    const better = entries.slice(0, serving ? entries.indexOf(serving) : entries.length);
    const why = better.map((entry) => whyNot(entry, fitOf));
    const reason = serving
      ? why.length > 0
        ? `${why.join("; ")}; serving ${alias.name} from ${serving.entry}${where(serving)}`
        : `${serving.entry} is READY${where(serving)}; serving ${alias.name} from it`
      : `${why.join("; ")}; nothing serves ${alias.name}`;
    actions.push({
      type: "record-switch",
      switch: { at: new Date(situation.now).toISOString(), from: last, to: now, reason },
    });
  }
  return actions;
}

/** Each entry of `alias` as the cluster view shows it: its instances' states, and upstreams present. */
export function aliasEntryStates(view: ClusterView, alias: Alias): AliasEntryState[] {
  const nameOf = (id: string) => view.nodes.find((node) => node.id === id)?.name ?? id;
  const alive = (id: string) => view.nodes.find((node) => node.id === id)?.state === "alive";
  return alias.chain.map((entry) => {
    const parsed = parseAliasEntry(entry);
    if (parsed.kind === "upstream")
      return {
        kind: "upstream",
        entry,
        present: view.desired.upstreams.some((upstream) => upstream.name === parsed.upstream),
      };
    const instances = view.desired.instances
      .filter((instance) => instance.model === parsed.model)
      .map((instance) => {
        const nodes = instance.plan
          ? [...new Set(instance.plan.shards.map((shard) => shard.node))]
          : [instance.node];
        const left = nodes.filter((node) => !alive(node));
        const summary = view.instances.find((candidate) => candidate.id === instance.id);
        // A READY instance whose head is alive serves, even while a shard's node is only suspected.
        const state = instance.draining
          ? "draining"
          : instance.suspended
            ? "down"
            : summary?.state === "READY" && alive(instance.node)
              ? "serving"
              : left.length > 0
                ? "down"
                : "loading";
        return { id: instance.id, state, nodes: nodes.map(nameOf), left: left.map(nameOf) } as const;
      });
    return { kind: "model", entry, instances };
  });
}

function servesNow(entry: AliasEntryState): boolean {
  return entry.kind === "upstream"
    ? entry.present
    : entry.instances.some((instance) => instance.state === "serving");
}

function isLoading(entry: AliasEntryState): boolean {
  return entry.kind === "model" && entry.instances.some((instance) => instance.state === "loading");
}

/** Where an entry serves: ` on alpha, bravo` (nothing for an upstream). */
function where(entry: AliasEntryState): string {
  if (entry.kind === "upstream") return "";
  const serving = entry.instances.find((instance) => instance.state === "serving") ?? entry.instances[0];
  return serving ? ` on ${serving.nodes.join(", ")}` : "";
}

/** Why an entry does not serve, in a person's words. */
function whyNot(entry: AliasEntryState, fit: (model: string) => FitVerdict): string {
  if (entry.kind === "upstream")
    return entry.present ? `${entry.entry} serves` : `${entry.entry}: no such upstream`;
  const states = entry.instances.map((instance) => instance.state);
  if (states.includes("loading")) return `${entry.entry} is loading`;
  if (states.includes("serving")) return `${entry.entry} serves`;
  const verdict = fit(entry.entry);
  const down = entry.instances.find((instance) => instance.state === "down");
  if (down) {
    const left = down.left.length > 0 ? `${down.left.join(", ")} left: ` : "";
    return verdict.fits
      ? `${left}${entry.entry} is being placed again`
      : `${left}${entry.entry} no longer fits (${verdict.reason})`;
  }
  if (states.includes("draining")) return `${entry.entry} is draining`;
  return verdict.fits ? `${entry.entry} is not loaded` : `${entry.entry} does not fit (${verdict.reason})`;
}

function memoize(fit: (model: string) => FitVerdict): (model: string) => FitVerdict {
  const verdicts = new Map<string, FitVerdict>();
  return (model) => {
    const verdict = verdicts.get(model) ?? fit(model);
    verdicts.set(model, verdict);
    return verdict;
  };
}
