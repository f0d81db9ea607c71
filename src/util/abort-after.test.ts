import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { abortAfter, timeLimit } from "./abort-after.js";

/** The garbage collector, run on demand (what `--expose-gc` gives, without the flag). */
function collectGarbage(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("abortAfter", () => {
  it("aborts with a TimeoutError after its time, even when the garbage collector ran meanwhile", async () => {
    const gc = collectGarbage();
    const reasons: unknown[] = [];
    // Nothing holds the signals but their own listeners, as with a wait on the node's state.
    for (let index = 0; index < 20; index++) {
      abortAfter(50, new AbortController().signal).addEventListener("abort", function (this: AbortSignal) {
        reasons.push(this.reason);
      });
    }
    for (let round = 0; round < 3; round++) {
      gc();
      await sleep(5);
    }
    await sleep(150);
    expect(reasons).toHaveLength(20);
    expect((reasons[0] as DOMException).name).toBe("TimeoutError");
  });

  it("aborts with the reason of the first of its signals to abort, before its time", () => {
    const request = new AbortController();
    const signal = abortAfter(60_000, undefined, request.signal);
    expect(signal.aborted).toBe(false);
    request.abort(new Error("the client left"));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe("the client left");
  });

  it("is aborted at once when a signal already is", () => {
    const signal = abortAfter(60_000, AbortSignal.abort("gone"));
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe("gone");
  });

  it("aborts at once for a time already past", async () => {
    const signal = abortAfter(-5);
    await sleep(5);
    expect((signal.reason as DOMException).name).toBe("TimeoutError");
  });

  it("no longer times out once disarmed, and still aborts with its signals", async () => {
    const request = new AbortController();
    const limit = timeLimit(10, request.signal);
    limit.disarm();
    await sleep(40);
    expect(limit.signal.aborted).toBe(false);
    request.abort("the client left");
    expect(limit.signal.reason).toBe("the client left");
  });
});
