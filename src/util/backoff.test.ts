import { describe, expect, it } from "vitest";
import { Backoff, sleep } from "./backoff.js";

/** The delays of `count` failures in a row, each after a run of `ranForMs`. */
function delays(backoff: Backoff, count: number, ranForMs = 0): number[] {
  return Array.from({ length: count }, () => backoff.nextDelay(ranForMs));
}

describe("Backoff", () => {
  it.each([
    { name: "the defaults", options: {}, expected: [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000] },
    {
      name: "the supervisor's settings",
      options: { initialMs: 250, maxMs: 30_000 },
      expected: [250, 500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000],
    },
    { name: "a low ceiling", options: { initialMs: 100, maxMs: 350 }, expected: [100, 200, 350, 350] },
    { name: "factor 3", options: { initialMs: 10, factor: 3 }, expected: [10, 30, 90, 270, 810] },
    { name: "factor 1", options: { initialMs: 10, factor: 1 }, expected: [10, 10, 10] },
  ])("grows the delay by its factor up to the ceiling with $name", ({ options, expected }) => {
    expect(delays(new Backoff(options), expected.length)).toEqual(expected);
  });

  it("counts failures", () => {
    const backoff = new Backoff();
    expect(backoff.failureCount).toBe(0);
    delays(backoff, 3);
    expect(backoff.failureCount).toBe(3);
  });

  it.each([
    { ranForMs: 59_999, next: 4000 },
    { ranForMs: 60_000, next: 500 },
    { ranForMs: 3_600_000, next: 500 },
  ])("after three quick failures, a run of $ranForMs ms waits $next ms", ({ ranForMs, next }) => {
    const backoff = new Backoff();
    delays(backoff, 3, 10);
    expect(backoff.nextDelay(ranForMs)).toBe(next);
  });

  it("starts doubling again after a healthy run", () => {
    const backoff = new Backoff({ initialMs: 100, resetAfterMs: 1000 });
    expect(delays(backoff, 4, 5)).toEqual([100, 200, 400, 800]);
    expect(backoff.nextDelay(1000)).toBe(100);
    expect(backoff.failureCount).toBe(1);
    expect(delays(backoff, 2, 5)).toEqual([200, 400]);
  });

  it("does not overflow past the ceiling after many failures", () => {
    const backoff = new Backoff();
    delays(backoff, 2000);
    expect(backoff.nextDelay(0)).toBe(30_000);
  });
});

describe("sleep", () => {
  it("resolves after about the given time", async () => {
    const started = performance.now();
    await sleep(30);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });

  it("rejects with the signal's reason when aborted while waiting", async () => {
    const controller = new AbortController();
    const reason = new Error("stopping");
    const started = performance.now();
    const sleeping = sleep(60_000, controller.signal);
    setTimeout(() => controller.abort(reason), 10);
    await expect(sleeping).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it("rejects at once when the signal is already aborted", async () => {
    await expect(sleep(60_000, AbortSignal.abort("already gone"))).rejects.toBe("already gone");
  });

  it("resolves when a signal is given but never aborted", async () => {
    await expect(sleep(5, new AbortController().signal)).resolves.toBeUndefined();
  });
});
