import { describe, expect, it } from "vitest";
import type { Alias, AliasChange } from "../protocol/aliases.js";
import type { DesiredState } from "../protocol/cluster.js";
import { applyAliasChange, refuseAliasChange } from "./aliases.js";
import { applyDesiredChange } from "./apply-desired-change.js";
import { applyEvent, initialNodeState } from "./node-state.js";

const cloud = {
  name: "cloud",
  url: "https://api.example.com/v1",
  kind: "openai" as const,
  models: [{ name: "gpt-4o-mini", upstreamName: "gpt-4o-mini" }],
  addedAt: "2026-01-01T00:00:00Z",
};
const alias = (name: string, chain: string[], extra: Partial<Alias> = {}): Alias => ({
  name,
  chain,
  keepLoaded: false,
  switches: [],
  ...extra,
});
const state = (aliases?: Alias[]): DesiredState => ({
  epoch: 3,
  writtenBy: null,
  instances: [],
  upstreams: [cloud],
  routes: {},
  ...(aliases ? { aliases } : {}),
});
const models = ["big-70b-q8", "big-70b-q4", "small-8b"];
const switched = { at: "2026-12-03T10:00:00Z", from: "big-70b-q8", to: "small-8b", reason: "bravo left" };

describe("refuseAliasChange", () => {
  const rows: Array<[string, DesiredState, AliasChange, string | undefined]> = [
    [
      "a chain of models and an upstream entry that exist",
      state(),
      { type: "alias-set", alias: alias("coder", ["big-70b-q8", "small-8b", "upstream:cloud/gpt-4o-mini"]) },
      undefined,
    ],
    [
      "a model an upstream lists, named plainly",
      state(),
      { type: "alias-set", alias: alias("chat", ["gpt-4o-mini"]) },
      undefined,
    ],
    [
      "an alias named like a model a node holds",
      state(),
      { type: "alias-set", alias: alias("small-8b", ["big-70b-q8"]) },
      "ConflictError: 'small-8b' is a model's name",
    ],
    [
      "an alias named like a model only an upstream serves",
      state(),
      { type: "alias-set", alias: alias("gpt-4o-mini", ["small-8b"]) },
      "ConflictError: 'gpt-4o-mini' is a model's name",
    ],
    [
      "a typo in the chain: refused naming the models that do exist",
      state(),
      { type: "alias-set", alias: alias("coder", ["big-70b-q9", "small-8b"]) },
      "NotFoundError: alias 'coder' points at 'big-70b-q9', which no node holds and no upstream serves; the models that exist: big-70b-q4, big-70b-q8, gpt-4o-mini, small-8b; upstreams: upstream:cloud/<model>",
    ],
    [
      "an upstream the cluster does not have",
      state(),
      { type: "alias-set", alias: alias("coder", ["small-8b", "upstream:openai/gpt-4o"]) },
      "NotFoundError: alias 'coder' points at 'upstream:openai/gpt-4o'",
    ],
    [
      "an upstream entry without a model",
      state(),
      { type: "alias-set", alias: alias("coder", ["upstream:cloud"]) },
      "NotFoundError: alias 'coder' points at 'upstream:cloud'",
    ],
    [
      "an entry that is another alias",
      state([alias("chat", ["small-8b"])]),
      { type: "alias-set", alias: alias("coder", ["chat"]) },
      "InvalidRequestError: 'chat' is an alias",
    ],
    [
      "the same entry twice",
      state(),
      { type: "alias-set", alias: alias("coder", ["small-8b", "small-8b"]) },
      "InvalidRequestError: the chain of 'coder' names an entry twice",
    ],
    [
      "replacing an alias's chain",
      state([alias("coder", ["small-8b"])]),
      { type: "alias-set", alias: alias("coder", ["big-70b-q4", "small-8b"]) },
      undefined,
    ],
    [
      "removing an alias that is not there",
      state(),
      { type: "alias-removed", name: "coder" },
      "NotFoundError: no alias named 'coder'",
    ],
  ];
  it.each(rows)("%s", (_situation, desired, change, expected) => {
    const refusal = refuseAliasChange(desired, change, models);
    if (expected === undefined) expect(refusal).toBeUndefined();
    else expect(`${refusal?.name}: ${refusal?.message}`).toContain(expected);
  });
});

describe("applyAliasChange", () => {
  it("adds, replaces (keeping the switch history) and removes aliases", () => {
    const added = applyAliasChange(state(), { type: "alias-set", alias: alias("coder", ["small-8b"]) });
    expect(added.map((entry) => entry.chain)).toEqual([["small-8b"]]);
    const recorded = applyAliasChange(state(added), {
      type: "alias-switch-recorded",
      name: "coder",
      switch: switched,
    });
    const replaced = applyAliasChange(state(recorded), {
      type: "alias-set",
      alias: alias("coder", ["big-70b-q8", "small-8b"], { keepLoaded: true }),
    });
    expect(replaced).toEqual([
      alias("coder", ["big-70b-q8", "small-8b"], { keepLoaded: true, switches: [switched] }),
    ]);
    expect(applyAliasChange(state(replaced), { type: "alias-removed", name: "coder" })).toEqual([]);
  });

  it("keeps the last 20 switches", () => {
    let aliases = [alias("coder", ["small-8b"])];
    for (let index = 0; index < 25; index++) {
      aliases = applyAliasChange(state(aliases), {
        type: "alias-switch-recorded",
        name: "coder",
        switch: { ...switched, reason: `switch ${index}` },
      });
    }
    expect(aliases[0]!.switches.map((entry) => entry.reason)).toEqual(
      Array.from({ length: 20 }, (_, index) => `switch ${index + 5}`),
    );
  });

  it("survives the other changes to the desired state, and an older saved state has none", () => {
    const withAlias = { ...state(), aliases: [alias("coder", ["small-8b"])] };
    const changed = applyDesiredChange(withAlias, {
      type: "routes-set",
      routes: { "small-8b": "local-only" },
    });
    expect(changed.aliases).toBeUndefined();
    // The reducer keeps what a change does not touch.
    let node = initialNodeState("a" as never, withAlias);
    node = { ...node, coordinator: node.self };
    const after = applyEvent(node, { type: "routes-set", routes: { "small-8b": "local-only" } });
    expect(after.desired.aliases).toEqual(withAlias.aliases);
    expect(after.desired.epoch).toBe(4);
  });
});
