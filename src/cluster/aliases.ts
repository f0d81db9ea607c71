import { type Alias, type AliasChange, aliasSwitchHistory, parseAliasEntry } from "../protocol/aliases.js";
import type { DesiredState } from "../protocol/cluster.js";
import { ConflictError, type HerdError, InvalidRequestError, NotFoundError } from "../protocol/errors.js";
import { assertNever } from "../protocol/events.js";

/** The aliases of a desired state (none in a state saved before aliases existed). */
export function aliasesOf(desired: DesiredState): readonly Alias[] {
  return desired.aliases ?? [];
}

/** The alias named `name`, if there is one. */
export function findAlias(desired: DesiredState, name: string): Alias | undefined {
  return aliasesOf(desired).find((alias) => alias.name === name);
}

/** The desired state's aliases after `change` (the coordinator then gives the state the next epoch). */
export function applyAliasChange(desired: DesiredState, change: AliasChange): Alias[] {
  const aliases = aliasesOf(desired);
  switch (change.type) {
    case "alias-set": {
      const previous = aliases.find((alias) => alias.name === change.alias.name);
      // Changing an alias's chain does not forget how it served so far.
      const alias = { ...change.alias, switches: previous?.switches ?? change.alias.switches };
      return previous
        ? aliases.map((other) => (other.name === alias.name ? alias : other))
        : [...aliases, alias];
    }
    case "alias-removed":
      return aliases.filter((alias) => alias.name !== change.name);
    case "alias-switch-recorded":
      return aliases.map((alias) =>
        alias.name === change.name
          ? { ...alias, switches: [...alias.switches, change.switch].slice(-aliasSwitchHistory) }
          : alias,
      );
    default:
      return assertNever(change);
  }
}

/**
 * Why `change` cannot be made, if it cannot. An alias's name may not be a model's (a client could
 * not tell which it gets); every entry must name a model some node holds or an upstream lists, or
 * an upstream the cluster has; an alias does not point at another alias. `modelNames` are the
 * models in the cluster now; without them (the reducer, which does not know every store) only the
 * state's own facts are checked.
 */
export function refuseAliasChange(
  desired: DesiredState,
  change: AliasChange,
  modelNames?: readonly string[],
): HerdError | undefined {
  const exists = aliasesOf(desired).some((alias) => alias.name === nameOf(change));
  switch (change.type) {
    case "alias-removed":
    case "alias-switch-recorded":
      return exists ? undefined : new NotFoundError(`no alias named '${nameOf(change)}'`);
    case "alias-set":
      return refuseAlias(desired, change.alias, modelNames);
    default:
      return assertNever(change);
  }
}

function nameOf(change: AliasChange): string {
  return change.type === "alias-set" ? change.alias.name : change.name;
}

function refuseAlias(
  desired: DesiredState,
  alias: Alias,
  modelNames: readonly string[] | undefined,
): HerdError | undefined {
  if (new Set(alias.chain).size !== alias.chain.length)
    return new InvalidRequestError(`the chain of '${alias.name}' names an entry twice`, "chain");
  if (modelNames === undefined) return undefined;
  const listed = desired.upstreams.flatMap((upstream) => upstream.models.map((entry) => entry.name));
  const models = new Set([...modelNames, ...listed]);
  if (models.has(alias.name))
    return new ConflictError(
      `'${alias.name}' is a model's name; an alias needs a name of its own so that clients know which they get`,
    );
  const others = aliasesOf(desired).filter((other) => other.name !== alias.name);
  const missing: string[] = [];
  for (const entry of alias.chain) {
    const parsed = parseAliasEntry(entry);
    if (parsed.kind === "upstream") {
      if (!desired.upstreams.some((upstream) => upstream.name === parsed.upstream) || parsed.model === "")
        missing.push(entry);
    } else if (others.some((other) => other.name === parsed.model)) {
      return new InvalidRequestError(
        `'${entry}' is an alias; a chain names models (or upstream:<name>/<model>), not other aliases`,
        "chain",
      );
    } else if (!models.has(parsed.model)) {
      missing.push(entry);
    }
  }
  if (missing.length === 0) return undefined;
  const known = [...models].sort();
  const upstreams = desired.upstreams.map((upstream) => `upstream:${upstream.name}/<model>`);
  return new NotFoundError(
    `alias '${alias.name}' points at ${missing.map((entry) => `'${entry}'`).join(", ")}, which no node holds and no upstream serves; ` +
      `the models that exist: ${known.length > 0 ? known.join(", ") : "none"}` +
      (upstreams.length > 0 ? `; upstreams: ${upstreams.join(", ")}` : ""),
  );
}
