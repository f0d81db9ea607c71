import { afterAll, describe, expect, it } from "vitest";
import type { NodeEvent } from "../src/protocol/events.js";
import { HerdProcess, sharedModelPath, stopAllHerdProcesses, waitFor } from "./support/herd-process.js";

afterAll(stopAllHerdProcesses);

/** Loads stories260K and returns the events of its instance until READY, and the instance's stats then. */
async function loadAndWatch(node: HerdProcess) {
  const stop = new AbortController();
  const events = await node.client.subscribe(stop.signal);
  expect((await node.cli(["models", "import", sharedModelPath])).code).toBe(0);
  expect((await node.cli(["load", "stories260K", "--parallel", "1", "--ctx", "256"])).code).toBe(0);
  const seen: NodeEvent[] = [];
  for await (const event of events) {
    if (event.type !== "instance-state-changed" && event.type !== "instance-warmed-up") continue;
    seen.push(event);
    if (event.type === "instance-state-changed" && event.state === "READY") break;
  }
  stop.abort();
  // The engine's own counter of tokens generated, as `herd ps --json` shows it, before any request.
  const stats = await waitFor(
    "the instance's first stats",
    async () => (await node.client.instances())[0]?.stats,
  );
  return { seen, tokensGenerated: stats.tokensGenerated };
}

describe("warm-up", () => {
  it("runs one short generation before READY, and says how long it took", async () => {
    const { seen, tokensGenerated } = await loadAndWatch(await HerdProcess.start());
    const states = seen.map((event) => (event.type === "instance-state-changed" ? event.state : event.type));
    expect(states.slice(-4)).toEqual(["LOADING", "LOADING", "instance-warmed-up", "READY"]);
    const warming = seen.at(-3) as Extract<NodeEvent, { type: "instance-state-changed" }>;
    expect(warming.reason).toBe("warming up: one short generation");
    const warmed = seen.at(-2) as Extract<NodeEvent, { type: "instance-warmed-up" }>;
    expect(warmed.loadMs).toBeGreaterThan(0);
    expect(warmed.warmupMs).toBeGreaterThan(0);
    const ready = seen.at(-1) as Extract<NodeEvent, { type: "instance-state-changed" }>;
    expect(ready.reason).toBe(
      `${ready.reason.split(",")[0]}, warmed up in ${Math.round(warmed.warmupMs)} ms`,
    );
    expect(tokensGenerated).toBeGreaterThan(0);
  });

  it("goes straight to READY with --no-warmup", async () => {
    const { seen, tokensGenerated } = await loadAndWatch(await HerdProcess.start({ args: ["--no-warmup"] }));
    expect(seen.some((event) => event.type === "instance-warmed-up")).toBe(false);
    expect(seen.at(-1)).toMatchObject({
      state: "READY",
      reason: expect.stringMatching(/^serving on 127\.0\.0\.1:\d+$/),
    });
    expect(tokensGenerated).toBe(0);
  });
});
