import { z } from "zod";
import type { Upstream } from "./upstream.js";

/** An alias's name: what clients write in `model` fields, like a model's name. */
export const AliasName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, "use letters, digits, '.', '_', ':' and '-' only");

/** One entry of an alias's chain: a model's name, or `upstream:<upstream>/<model>`. */
export const AliasEntry = z.string().min(1).max(300);

/** The entry an alias moved to, and why (a node left, a better entry is READY again). */
export const AliasSwitch = z.object({
  at: z.string().max(40),
  /** The entry that served before; null when none did. */
  from: z.string().max(300).nullable(),
  /** The entry that serves now; null when none can. */
  to: z.string().max(300).nullable(),
  reason: z.string().max(2000),
});
export type AliasSwitch = z.infer<typeof AliasSwitch>;

/** How many switches an alias remembers; older ones are forgotten first. */
export const aliasSwitchHistory = 20;

/**
 * A name that always answers: requests for it go to the first entry of its chain that is READY and
 * that the request's policy allows. With `keepLoaded`, the coordinator keeps the best entry that
 * fits the cluster as it is now loaded.
 */
export const Alias = z.object({
  name: AliasName,
  chain: z.array(AliasEntry).min(1).max(16),
  keepLoaded: z.boolean().default(false),
  /** The most recent switches, oldest first. */
  switches: z.array(AliasSwitch).max(aliasSwitchHistory).default([]),
});
export type Alias = z.infer<typeof Alias>;

/** Changes to the desired state's aliases, in the past tense (variants of `DesiredEvent`). */
export const aliasChanges = [
  /** Adds an alias, or replaces the one of that name (its switch history stays). */
  z.object({ type: z.literal("alias-set"), alias: Alias }),
  z.object({ type: z.literal("alias-removed"), name: AliasName }),
  /** The coordinator moved an alias to another entry. */
  z.object({ type: z.literal("alias-switch-recorded"), name: AliasName, switch: AliasSwitch }),
] as const;
const AliasChange = z.discriminatedUnion("type", aliasChanges);
export type AliasChange = z.infer<typeof AliasChange>;

/** `PUT /herd/v1/aliases/{name}`. */
export const SetAliasRequest = z.strictObject({
  chain: z.array(AliasEntry).min(1).max(16),
  keepLoaded: z.boolean().optional(),
});
export type SetAliasRequest = z.infer<typeof SetAliasRequest>;

/** An alias as the API lists it: with the entry that would serve a request now, and why. */
export interface AliasStatus extends Alias {
  /** The entry a request (policy `any`) goes to now; null when none can serve. */
  serving: string | null;
  /** Why that entry, or why none. */
  reason: string;
}

/** `GET /herd/v1/aliases`. */
export interface AliasListing {
  aliases: AliasStatus[];
}

/** A chain entry, read. */
export type ParsedAliasEntry =
  | { kind: "model"; model: string }
  | { kind: "upstream"; upstream: string; model: string };

const upstreamPrefix = "upstream:";

/**
 * Reads a chain entry: `upstream:cloud/gpt-4o-mini` names an upstream and its model, anything else
 * a model.
 * @example parseAliasEntry("upstream:cloud/gpt-4o-mini") // { kind: "upstream", upstream: "cloud", model: "gpt-4o-mini" }
 */
export function parseAliasEntry(entry: string): ParsedAliasEntry {
  if (!entry.startsWith(upstreamPrefix)) return { kind: "model", model: entry };
  const rest = entry.slice(upstreamPrefix.length);
  const slash = rest.indexOf("/");
  if (slash === -1) return { kind: "upstream", upstream: rest, model: "" };
  return { kind: "upstream", upstream: rest.slice(0, slash), model: rest.slice(slash + 1) };
}

/** The entry a request for an alias goes to, or why none can take it. */
export type AliasResolution =
  | { kind: "model"; entry: string; model: string }
  | { kind: "upstream"; entry: string; upstream: Upstream; upstreamModel: string }
  /** `state` is what the 503 says: `LOCAL-ONLY` when an upstream entry could have served but the policy forbids it. */
  | { kind: "unavailable"; state: "LOCAL-ONLY" | "NOT-READY"; reason: string };
