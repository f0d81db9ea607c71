import { describe, expect, it } from "vitest";
import type { RequestPolicy } from "../protocol/upstream.js";
import { resolveAlias } from "./resolve-alias.js";

const cloud = {
  name: "cloud",
  url: "https://api.example.com/v1",
  kind: "openai" as const,
  models: [{ name: "mini", upstreamName: "gpt-4o-mini" }],
  addedAt: "2026-01-01T00:00:00Z",
};
const chain = ["big-70b-q8", "big-70b-q4", "small-8b", "upstream:cloud/mini"];

describe("resolveAlias", () => {
  const rows: Array<[string, string[], RequestPolicy, string]> = [
    ["docked: the first entry is READY", ["big-70b-q8", "small-8b"], "any", "model big-70b-q8"],
    [
      "a node left: the 8-bit model is down, the 4-bit one serves",
      ["big-70b-q4", "small-8b"],
      "any",
      "model big-70b-q4",
    ],
    ["only the small model is READY", ["small-8b"], "any", "model small-8b"],
    [
      "nothing local is READY: the upstream serves, under its own name for the model",
      [],
      "any",
      "upstream cloud gpt-4o-mini",
    ],
    [
      "nothing local is READY and the request is local-only: a 503 that says so",
      [],
      "local-only",
      "unavailable LOCAL-ONLY no entry of alias 'coder' can serve this request: big-70b-q8 (not READY), big-70b-q4 (not READY), small-8b (not READY), upstream:cloud/mini (this request may not leave the cluster)",
    ],
    ["a local-only request still gets a local entry", ["small-8b"], "local-only", "model small-8b"],
  ];
  it.each(rows)("%s", (_situation, ready, policy, expected) => {
    const resolution = resolveAlias({
      alias: { name: "coder", chain, keepLoaded: true, switches: [] },
      isReady: (model) => ready.includes(model),
      upstreams: [cloud],
      policy,
    });
    const summary =
      resolution.kind === "model"
        ? `model ${resolution.model}`
        : resolution.kind === "upstream"
          ? `upstream ${resolution.upstream.name} ${resolution.upstreamModel}`
          : `unavailable ${resolution.state} ${resolution.reason}`;
    expect(summary).toBe(expected);
  });

  it("passes over an upstream that was removed since the alias was set", () => {
    const resolution = resolveAlias({
      alias: { name: "coder", chain: ["small-8b", "upstream:gone/mini"], keepLoaded: false, switches: [] },
      isReady: () => false,
      upstreams: [cloud],
      policy: "any",
    });
    expect(resolution).toEqual({
      kind: "unavailable",
      state: "NOT-READY",
      reason:
        "no entry of alias 'coder' can serve this request: small-8b (not READY), upstream:gone/mini (no such upstream)",
    });
  });
});
