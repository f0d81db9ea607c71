import { describe, expect, it } from "vitest";
import { throughputDue } from "./link-measurer.js";
import { ProbeBudget } from "./probe-budget.js";

describe("ProbeBudget", () => {
  it("allows the minute's bytes each way, and more as the minute slides", () => {
    let now = 0;
    const budget = new ProbeBudget(10, () => now);
    expect([budget.take("received", 4), budget.take("received", 4), budget.take("received", 4)]).toEqual([
      true,
      true,
      false,
    ]);
    expect(budget.take("sent", 10)).toBe(true);
    now = 59_999;
    expect(budget.take("received", 4)).toBe(false);
    now = 60_000;
    expect(budget.take("received", 8)).toBe(true);
    expect(budget.traffic()).toEqual({
      sentBytes: 10,
      receivedBytes: 16,
      deferred: 2,
      budgetBytesPerMinute: 10,
    });
  });
});

describe("throughputDue", () => {
  const now = 10_000_000;
  const probed = { rttMs: 0.3, throughputMeasuredAt: now - 60_000 };
  it.each([
    ["a new path", undefined, undefined, 0.3, false, true],
    ["a path probed a minute ago, same round trip", probed, 0.3, 0.35, false, false],
    ["a busy moment: 0.3 ms to 1.5 ms", probed, 0.3, 1.5, false, false],
    ["one slow round: 0.3 ms to 3 ms, the round before as probed", probed, 0.3, 3, false, false],
    [
      "a path now Wi-Fi: 3 ms two rounds in a row, probed at 0.3 ms",
      { ...probed, rttMs: 3.1 },
      0.3,
      3,
      false,
      true,
    ],
    ["a shard about to use it", probed, 0.3, 0.3, true, true],
    [
      "a figure older than half an hour",
      { rttMs: 0.3, throughputMeasuredAt: now - 31 * 60_000 },
      0.3,
      0.3,
      false,
      true,
    ],
  ])("%s", (_situation, previous, probedAt, rttMs, forced, expected) => {
    expect(throughputDue(previous, probedAt, rttMs, forced, now)).toBe(expected);
  });
});
