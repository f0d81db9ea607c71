import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type HerdProcess,
  separateMachines,
  sharedModelPath,
  startCluster,
  stopAllHerdProcesses,
  waitFor,
} from "./support/herd-process.js";

/** One greedy completion; which instance served it comes back in `x-herd-instance`. */
async function complete(node: HerdProcess, index: number): Promise<{ status: number; instance: string }> {
  const response = await fetch(`${node.url}/v1/completions`, {
    method: "POST",
    body: JSON.stringify({
      model: "stories260K",
      // Different prompts: requests of one conversation would rightly stick to one instance.
      prompt: `Story ${index}: once upon a time`,
      max_tokens: 48,
      temperature: 0,
    }),
  });
  const body = (await response.json()) as { choices?: Array<{ text: string }> };
  if (response.status === 200) expect(body.choices?.[0]?.text.length).toBeGreaterThan(0);
  return { status: response.status, instance: response.headers.get("x-herd-instance") ?? "" };
}

describe("two replicas of one model on two nodes", () => {
  let a: HerdProcess;
  let b: HerdProcess;

  beforeAll(async () => {
    [a, b] = (await startCluster(["a", "b"])) as [HerdProcess, HerdProcess];
    // A head needs the model's file: both nodes hold it.
    for (const node of [a, b]) expect((await node.cli(["models", "import", sharedModelPath])).code).toBe(0);
    // The first load may come before a's heartbeats tell it that b holds the file too. The two
    // replicas stand for two machines but decode at once on this one's cores: at their default
    // threads, four threads of two engines spinning on two cores once made the 8 requests below
    // take 31 s instead of 1.
    await waitFor("two replicas to load", async () => {
      const loaded = await a.cli([
        "load",
        "stories260K",
        "--replicas",
        "2",
        "--parallel",
        "2",
        ...separateMachines,
      ]);
      return loaded.code === 0 ? loaded : undefined;
    });
  });
  afterAll(stopAllHerdProcesses);

  it("places them on different nodes and spreads concurrent requests over both", async () => {
    const view = await a.client.cluster();
    expect(view.desired.instances).toHaveLength(2);
    expect(new Set(view.desired.instances.map((instance) => instance.node)).size).toBe(2);
    const served = await Promise.all(Array.from({ length: 8 }, (_, index) => complete(a, index)));
    expect(served.every((result) => result.status === 200)).toBe(true);
    const byInstance = new Set(served.map((result) => result.instance));
    expect(byInstance).toEqual(new Set(view.desired.instances.map((instance) => instance.id)));
    // Each head counts what it served, whichever node the request came in through. b hears of a's
    // count with a's heartbeats, so it may show one head's count before all of it: wait for all 8.
    const counts = await waitFor("both heads to report all 8 requests served", async () => {
      const instances = (await b.client.cluster()).instances;
      const total = instances.reduce((sum, instance) => sum + instance.served, 0);
      return instances.length === 2 && instances.every((instance) => instance.served > 0) && total >= 8
        ? instances
        : undefined;
    });
    expect(counts.reduce((sum, instance) => sum + instance.served, 0)).toBeGreaterThanOrEqual(8);
    const ps = await b.cli(["ps"]);
    expect(ps.stdout).toMatch(/SERVED/);
  });

  it("drains one: new requests go to the other, none fails, and the drained one is unloaded", async () => {
    const view = await a.client.cluster();
    const bId = view.nodes.find((node) => node.name === "b")!.id;
    const onB = view.desired.instances.find((instance) => instance.node === bId)!;
    const remaining = view.desired.instances.find((instance) => instance.id !== onB.id)!;
    let stop = false;
    let drainedAt = Number.POSITIVE_INFINITY;
    const results: Array<{ status: number; instance: string; startedAt: number }> = [];
    // Three clients keep sending while the drain runs, and a little after.
    const clients = Array.from({ length: 3 }, async (_, client) => {
      for (let index = 0; !stop; index++) {
        const startedAt = Date.now();
        results.push({ ...(await complete(a, client * 1000 + index)), startedAt });
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const drained = await a.cli(["drain", onB.id]);
    drainedAt = Date.now();
    expect(drained.code, drained.stderr).toBe(0);
    expect(drained.stdout).toContain(`drained and unloaded ${onB.id}`);
    await waitFor("requests sent after the drain", async () =>
      results.filter((result) => result.startedAt > drainedAt).length >= 3 ? true : undefined,
    );
    stop = true;
    await Promise.all(clients);

    expect(results.filter((result) => result.status !== 200)).toEqual([]);
    const after = results.filter((result) => result.startedAt > drainedAt);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((result) => result.instance === remaining.id)).toBe(true);
    const desired = (await b.client.cluster()).desired.instances;
    expect(desired.map((instance) => instance.id)).toEqual([remaining.id]);
  });

  it("drains a node through the API and answers at once with ?wait=false", async () => {
    const response = await fetch(`${a.url}/herd/v1/nodes/a/drain?wait=false`, { method: "POST" });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { draining: string[]; drained: boolean };
    expect(body.drained).toBe(false);
    expect(body.draining).toHaveLength(1);
    await waitFor("the drained node's instance to be unloaded", async () =>
      (await a.client.cluster()).desired.instances.length === 0 ? true : undefined,
    );
    const missing = await fetch(`${a.url}/herd/v1/instances/nothing-here/drain`, { method: "POST" });
    expect(missing.status).toBe(404);
  });
});
