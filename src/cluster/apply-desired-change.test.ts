import { describe, expect, it } from "vitest";
import type { DesiredState } from "../protocol/cluster.js";
import { applyDesiredChange } from "./apply-desired-change.js";

const empty: DesiredState = { epoch: 0, writtenBy: null, instances: [], upstreams: [], routes: {} };
const upstream = (name: string, url: string) => ({
  name,
  url,
  kind: "openai" as const,
  models: [{ name: "m", upstreamName: "m" }],
  addedAt: "2026-01-01T00:00:00Z",
});

describe("applyDesiredChange", () => {
  it("adds an upstream, replaces it by name, and removes it", () => {
    const added = {
      ...empty,
      ...applyDesiredChange(empty, { op: "set-upstream", upstream: upstream("a", "http://x") }),
    };
    const replaced = applyDesiredChange(added, { op: "set-upstream", upstream: upstream("a", "http://y") });
    expect(replaced.upstreams.map((entry) => entry.url)).toEqual(["http://y"]);
    expect(
      applyDesiredChange({ ...empty, ...replaced }, { op: "remove-upstream", name: "a" }).upstreams,
    ).toEqual([]);
  });

  it("sets routes and clears them with null", () => {
    const set = {
      ...empty,
      ...applyDesiredChange(empty, { op: "set-routes", routes: { m: "upstream", n: "local-only" } }),
    };
    expect(applyDesiredChange(set, { op: "set-routes", routes: { m: null } }).routes).toEqual({
      n: "local-only",
    });
  });
});
