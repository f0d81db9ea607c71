import { describe, expect, it } from "vitest";
import type { Alias, AliasSwitch } from "../protocol/aliases.js";
import {
  type AliasEntryState,
  decideAliasPlacement,
  type FitVerdict,
  type ModelEntryState,
} from "./decide-alias-placement.js";

type InstanceState = ModelEntryState["instances"][number]["state"];
const model = (
  entry: string,
  ...instances: Array<[InstanceState, string[], string[]?]>
): ModelEntryState => ({
  kind: "model",
  entry,
  instances: instances.map(([state, nodes, left], index) => ({
    id: `${entry}-${index}`,
    state,
    nodes,
    left: left ?? [],
  })),
});
const fitsOnly =
  (...models: string[]) =>
  (name: string): FitVerdict =>
    models.includes(name) ? { fits: true } : { fits: false, reason: "needs 78 GiB, 41 GiB present" };
const switchedTo = (to: string | null): AliasSwitch => ({
  at: "2026-12-03T10:00:00.000Z",
  from: null,
  to,
  reason: "",
});
const coder = (keepLoaded: boolean, last?: string | null): Alias => ({
  name: "coder",
  chain: ["big-70b-q8", "big-70b-q4", "upstream:cloud/mini"],
  keepLoaded,
  switches: last === undefined ? [] : [switchedTo(last)],
});
const now = Date.parse("2026-12-03T12:00:00Z");

/** Actions as one line each, for tables. */
function summarize(actions: ReturnType<typeof decideAliasPlacement>): string[] {
  return actions.map((action) =>
    action.type === "record-switch"
      ? `switch ${action.switch.from} -> ${action.switch.to}: ${action.switch.reason}`
      : `${action.type} ${action.type === "drain" ? action.instanceId : action.model}: ${action.reason}`,
  );
}

describe("decideAliasPlacement", () => {
  const absentCloud: AliasEntryState = { kind: "upstream", entry: "upstream:cloud/mini", present: false };
  const rows: Array<[string, Alias, AliasEntryState[], (model: string) => FitVerdict, string[]]> = [
    [
      "a new keep-loaded alias, both machines docked: the 8-bit model is loaded",
      coder(true),
      [model("big-70b-q8"), model("big-70b-q4"), absentCloud],
      fitsOnly("big-70b-q8", "big-70b-q4"),
      ["load big-70b-q8: loading big-70b-q8 for coder"],
    ],
    [
      "it is loading: nothing else is loaded meanwhile, and no switch is news yet",
      coder(true),
      [model("big-70b-q8", ["loading", ["alpha", "bravo"]]), model("big-70b-q4"), absentCloud],
      fitsOnly("big-70b-q8", "big-70b-q4"),
      [],
    ],
    [
      "it is READY: the alias is served from it",
      coder(true),
      [model("big-70b-q8", ["serving", ["alpha", "bravo"]]), model("big-70b-q4"), absentCloud],
      fitsOnly("big-70b-q8", "big-70b-q4"),
      ["switch null -> big-70b-q8: big-70b-q8 is READY on alpha, bravo; serving coder from it"],
    ],
    [
      "bravo is suspected but the instance still answers: nothing moves",
      coder(true, "big-70b-q8"),
      [model("big-70b-q8", ["serving", ["alpha", "bravo"], ["bravo"]]), model("big-70b-q4"), absentCloud],
      fitsOnly("big-70b-q4"),
      [],
    ],
    [
      "bravo left and the 8-bit model no longer fits: the 4-bit one is loaded on what is left",
      coder(true, "big-70b-q8"),
      [model("big-70b-q8", ["down", ["alpha", "bravo"], ["bravo"]]), model("big-70b-q4"), absentCloud],
      fitsOnly("big-70b-q4"),
      [
        "load big-70b-q4: bravo left: big-70b-q8 no longer fits (needs 78 GiB, 41 GiB present); loading big-70b-q4 for coder",
      ],
    ],
    [
      "the fallback is READY: the switch is recorded with its reason",
      coder(true, "big-70b-q8"),
      [
        model("big-70b-q8", ["down", ["alpha", "bravo"], ["bravo"]]),
        model("big-70b-q4", ["serving", ["alpha"]]),
        absentCloud,
      ],
      fitsOnly("big-70b-q4"),
      [
        "switch big-70b-q8 -> big-70b-q4: bravo left: big-70b-q8 no longer fits (needs 78 GiB, 41 GiB present); serving coder from big-70b-q4 on alpha",
      ],
    ],
    [
      "bravo is back and the 8-bit model fits: recovery places it again, the fallback keeps serving",
      coder(true, "big-70b-q4"),
      [
        model("big-70b-q8", ["down", ["alpha", "bravo"]]),
        model("big-70b-q4", ["serving", ["alpha"]]),
        absentCloud,
      ],
      fitsOnly("big-70b-q8", "big-70b-q4"),
      [],
    ],
    [
      "the 8-bit model is READY again: the fallback is drained, and the switch back recorded",
      coder(true, "big-70b-q4"),
      [
        model("big-70b-q8", ["serving", ["alpha", "bravo"]]),
        model("big-70b-q4", ["serving", ["alpha"]]),
        absentCloud,
      ],
      fitsOnly("big-70b-q8", "big-70b-q4"),
      [
        "drain big-70b-q4-0: big-70b-q8 is READY on alpha, bravo; coder no longer needs big-70b-q4",
        "switch big-70b-q4 -> big-70b-q8: big-70b-q8 is READY on alpha, bravo; serving coder from it",
      ],
    ],
    [
      "a fallback already draining is not drained twice",
      coder(true, "big-70b-q8"),
      [
        model("big-70b-q8", ["serving", ["alpha", "bravo"]]),
        model("big-70b-q4", ["draining", ["alpha"]]),
        absentCloud,
      ],
      fitsOnly("big-70b-q8", "big-70b-q4"),
      [],
    ],
    [
      "the laptop alone: neither model fits, the upstream serves",
      coder(true, "big-70b-q4"),
      [
        model("big-70b-q8", ["down", ["alpha", "bravo"], ["alpha"]]),
        model("big-70b-q4", ["down", ["alpha"], ["alpha"]]),
        { kind: "upstream", entry: "upstream:cloud/mini", present: true },
      ],
      fitsOnly(),
      [
        "switch big-70b-q4 -> upstream:cloud/mini: alpha left: big-70b-q8 no longer fits (needs 78 GiB, 41 GiB present); alpha left: big-70b-q4 no longer fits (needs 78 GiB, 41 GiB present); serving coder from upstream:cloud/mini",
      ],
    ],
    [
      "nothing fits and no upstream: the alias is down, and says why",
      coder(true, "big-70b-q4"),
      [model("big-70b-q8"), model("big-70b-q4", ["down", ["alpha"], ["alpha"]]), absentCloud],
      fitsOnly(),
      [
        "switch big-70b-q4 -> null: big-70b-q8 does not fit (needs 78 GiB, 41 GiB present); alpha left: big-70b-q4 no longer fits (needs 78 GiB, 41 GiB present); upstream:cloud/mini: no such upstream; nothing serves coder",
      ],
    ],
    [
      "an alias without --keep-loaded loads and drains nothing, but its switches are recorded",
      coder(false, "big-70b-q8"),
      [
        model("big-70b-q8", ["down", ["alpha", "bravo"], ["bravo"]]),
        model("big-70b-q4", ["serving", ["alpha"]]),
        absentCloud,
      ],
      fitsOnly("big-70b-q4"),
      [
        "switch big-70b-q8 -> big-70b-q4: bravo left: big-70b-q8 no longer fits (needs 78 GiB, 41 GiB present); serving coder from big-70b-q4 on alpha",
      ],
    ],
  ];
  it.each(rows)("%s", (_situation, alias, entries, fit, expected) => {
    expect(summarize(decideAliasPlacement({ alias, entries, fit, now }))).toEqual(expected);
  });
});
