import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { everyWhile } from "./every-while.js";

describe("everyWhile", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("ticks while the work runs, returns its value, and stops ticking once it settled", async () => {
    let ticks = 0;
    let finish!: (value: string) => void;
    const result = everyWhile(new Promise<string>((resolve) => (finish = resolve)), 1000, () => ticks++);
    await vi.advanceTimersByTimeAsync(3500);
    expect(ticks).toBe(3);
    finish("done");
    await expect(result).resolves.toBe("done");
    await vi.advanceTimersByTimeAsync(5000);
    expect(ticks).toBe(3);
  });

  it("passes the work's failure on, and stops ticking", async () => {
    let ticks = 0;
    const failed = Promise.reject(new Error("no instance"));
    await expect(everyWhile(failed, 1000, () => ticks++)).rejects.toThrow("no instance");
    await vi.advanceTimersByTimeAsync(5000);
    expect(ticks).toBe(0);
  });
});
