import { describe, expect, it } from "vitest";
import { StateStore } from "./state-store.js";

const counter = () => new StateStore(0, (count: number, step: number) => count + step);

describe("StateStore", () => {
  it("resolves a wait at once when the state already holds", async () => {
    await expect(counter().waitFor((count) => count === 0)).resolves.toBe(0);
  });

  it("resolves a wait when a later event makes it hold", async () => {
    const store = counter();
    const waiting = store.waitFor((count) => count >= 3);
    store.apply(1);
    store.apply(2);
    await expect(waiting).resolves.toBe(3);
  });

  it("rejects a wait when its signal aborts, and tells no one after", async () => {
    const store = counter();
    const controller = new AbortController();
    const seen: number[] = [];
    store.subscribe((count) => seen.push(count), controller.signal);
    const waiting = store.waitFor((count) => count > 10, controller.signal);
    store.apply(1);
    controller.abort(new Error("gave up"));
    store.apply(1);
    await expect(waiting).rejects.toThrow("gave up");
    expect(seen).toEqual([1]);
  });

  it("tells subscribers nothing when an event changes nothing", () => {
    const store = counter();
    const seen: number[] = [];
    store.subscribe((count) => seen.push(count));
    store.apply(0);
    expect(seen).toEqual([]);
  });
});
