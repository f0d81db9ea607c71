import { describe, expect, it } from "vitest";
import type { DesiredEvent, DesiredState } from "../protocol/cluster.js";
import { applyDesiredChange } from "./apply-desired-change.js";

const empty: DesiredState = { epoch: 0, writtenBy: null, instances: [], upstreams: [], routes: {} };
const registered = (name: string, url: string): DesiredEvent => ({
  type: "upstream-registered",
  upstream: {
    name,
    url,
    kind: "openai",
    models: [{ name: "m", upstreamName: "m" }],
    addedAt: "2026-01-01T00:00:00Z",
  },
});
const routed = (routes: Record<string, "local-only" | "local-then-upstream" | "upstream" | null>) =>
  ({ type: "routes-set", routes }) as const;

/** What `herd upstreams` lists after the changes. */
function listed(changes: DesiredEvent[]): string {
  let state = empty;
  for (const change of changes) state = { ...state, ...applyDesiredChange(state, change) };

  const upstreams = state.upstreams.map((upstream) => `${upstream.name} ${upstream.url}`).join(", ");
  const routes = Object.entries(state.routes)
    .map(([model, route]) => `${model}: ${route}`)
    .join(", ");
  return `upstreams [${upstreams}] routes [${routes}]`;
}

describe("applyDesiredChange: upstreams and routes", () => {
  it.each<{ situation: string; changes: DesiredEvent[]; expected: string }>([
    {
      situation: "an upstream is registered",
      changes: [registered("a", "http://x")],
      expected: "upstreams [a http://x] routes []",
    },
    {
      situation: "an upstream is registered again under the same name: it replaces the first",
      changes: [registered("a", "http://x"), registered("a", "http://y")],
      expected: "upstreams [a http://y] routes []",
    },
    {
      situation: "an upstream is removed",
      changes: [
        registered("a", "http://x"),
        registered("b", "http://z"),
        { type: "upstream-removed", name: "a" },
      ],
      expected: "upstreams [b http://z] routes []",
    },
    {
      situation: "two models are routed",
      changes: [routed({ m: "upstream", n: "local-only" })],
      expected: "upstreams [] routes [m: upstream, n: local-only]",
    },
    {
      situation: "a model's route goes back to the default",
      changes: [routed({ m: "upstream", n: "local-only" }), routed({ m: null })],
      expected: "upstreams [] routes [n: local-only]",
    },
  ])("$situation", ({ changes, expected }) => {
    expect(listed(changes)).toBe(expected);
  });
});
