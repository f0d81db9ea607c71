import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mathCoreCount, readLinuxCpuTopology } from "../src/engine/engine-threads.js";
import {
  type HerdProcess,
  sharedModelPath,
  startCluster,
  stopAllHerdProcesses,
  waitFor,
} from "./support/herd-process.js";

const prompt = { prompt: "Once upon a time", max_tokens: 32, temperature: 0 };

async function complete(node: HerdProcess, model: string): Promise<string> {
  const response = await fetch(`${node.url}/v1/completions`, {
    method: "POST",
    body: JSON.stringify({ model, ...prompt }),
  });
  const body = (await response.json()) as { choices?: Array<{ text: string }>; error?: { message: string } };
  if (!body.choices) {
    const log = (await node.log()).split("\n").filter((line) => /model|import|instance/i.test(line));
    throw new Error(`completion failed: ${JSON.stringify(body)}\n${log.slice(-12).join("\n")}`);
  }
  return body.choices[0]!.text;
}

describe("one model across three nodes", () => {
  let a: HerdProcess;
  let b: HerdProcess;
  let c: HerdProcess;
  let single: string;

  beforeAll(async () => {
    [a, b, c] = (await startCluster(["a", "b", "c"])) as [HerdProcess, HerdProcess, HerdProcess];
    await a.cli(["models", "import", sharedModelPath]);
    const loaded = await a.cli(["load", "stories260K", "--nodes", "a", "--parallel", "1"]);
    expect(loaded.code, loaded.stderr).toBe(0);
    single = await complete(a, "stories260K");
    expect(single).toContain("Lily");
    await a.cli(["unload", "stories260K"]);
  });
  afterAll(stopAllHerdProcesses);

  it("plans a layer split that gives every node at least one layer", async () => {
    const plan = await a.cli(["plan", "stories260K", "--min-nodes", "3", "--split", "layer", "--json"]);
    expect(plan.code, plan.stderr).toBe(0);
    const parsed = JSON.parse(plan.stdout) as {
      splitMode: string;
      shards: Array<{ layerStart: number; layerEnd: number }>;
    };
    expect(parsed.splitMode).toBe("layer");
    expect(parsed.shards).toHaveLength(3);
    for (const shard of parsed.shards) expect(shard.layerEnd - shard.layerStart).toBeGreaterThanOrEqual(1);
  });

  it("gives the same greedy text split by layers over all three as on one node", async () => {
    const loaded = await a.cli([
      "load",
      "stories260K",
      "--min-nodes",
      "3",
      "--split",
      "layer",
      "--parallel",
      "1",
    ]);
    expect(loaded.code, `${loaded.stdout}\n${loaded.stderr}`).toBe(0);
    const view = await a.client.cluster();
    const instance = view.desired.instances[0]!;
    expect(new Set(instance.plan!.shards.map((shard) => shard.node)).size).toBe(3);
    // The CPU head keeps the 512 × 64 output matrix (131072 bytes), as llama.cpp reports allocating:
    // the last shard holds its block alone, and each token's logits never cross back.
    expect(instance.plan!.outputOnHead).toBe(true);
    const memory = (await a.client.instances()).find((entry) => entry.id === instance.id)!.engineMemory!;
    const last = memory.find((place) => place.rpcIndex === instance.plan!.rpcNodes.length - 1)!;
    const head = memory.find((place) => place.rpcIndex === undefined)!;
    const blocks = (node: string) => instance.plan!.shards.find((shard) => shard.node === node)!;
    const lastBlocks = blocks(instance.plan!.rpcNodes.at(-1)!);
    expect(last.weightBytes).toBeLessThan((lastBlocks.layerEnd - lastBlocks.layerStart) * 181760 + 65536);
    expect(head.weightBytes).toBeGreaterThan(
      blocks(instance.plan!.head).layerEnd * 181760 + 2 * 131072 - 16384,
    );
    expect(await complete(a, "stories260K")).toBe(single);
    // Asked for no threads, each shard computes on as many as llama-server would: one per core.
    const threads = mathCoreCount(await readLinuxCpuTopology());
    const names = new Map(view.nodes.map((node) => [node.id, node.name]));
    for (const shardNode of instance.plan!.rpcNodes) {
      const node = { a, b, c }[names.get(shardNode) as "a" | "b" | "c"];
      expect(await node.log()).toMatch(
        new RegExp(`starting ggml-rpc-server on 127\\.0\\.0\\.1:\\d+, ${threads} threads?`),
      );
    }
    // Any node's API reaches it, and any node's CLI shows where it runs.
    expect(await complete(c, "stories260K")).toBe(single);
    const ps = await c.cli(["ps"]);
    const row = ps.stdout.split("\n").find((line) => line.startsWith("stories260K-"))!;
    expect(row).toMatch(/stories260K\s+a\s+layer\s.*READY/);
    for (const node of ["a", "b", "c"]) expect(row).toMatch(new RegExp(`\\b${node}:\\d+-\\d+`));
    await a.cli(["unload", "stories260K"]);
  });

  it("gives the same greedy text with engines connected directly (--rpc-transport direct)", async () => {
    const loaded = await a.cli([
      "load",
      "stories260K",
      "--min-nodes",
      "2",
      "--split",
      "layer",
      "--rpc-transport",
      "direct",
    ]);
    expect(loaded.code, `${loaded.stdout}\n${loaded.stderr}`).toBe(0);
    expect((await a.client.cluster()).desired.instances[0]!.plan!.rpcTransport).toBe("direct");
    expect(await complete(a, "stories260K")).toBe(single);
    await a.cli(["unload", "stories260K"]);
  });

  it("gives the same greedy text split by tensors over two nodes", async () => {
    const loaded = await a.cli([
      "load",
      "stories260K",
      "--nodes",
      "a,b",
      "--min-nodes",
      "2",
      "--split",
      "tensor",
      "--parallel",
      "1",
    ]);
    expect(loaded.code, `${loaded.stdout}\n${loaded.stderr}`).toBe(0);
    const instance = (await a.client.cluster()).desired.instances[0]!;
    expect(instance.plan!.splitMode).toBe("tensor");
    expect(await complete(a, "stories260K")).toBe(single);
    await a.cli(["unload", "stories260K"]);
  });
});

describe("a shard node that dies", () => {
  let a: HerdProcess;
  let b: HerdProcess;
  let c: HerdProcess;

  beforeAll(async () => {
    [a, b, c] = (await startCluster(["a", "b", "c"])) as [HerdProcess, HerdProcess, HerdProcess];
    await a.cli(["models", "import", sharedModelPath]);
    const loaded = await a.cli([
      "load",
      "stories260K",
      "--min-nodes",
      "3",
      "--split",
      "layer",
      "--parallel",
      "1",
    ]);
    expect(loaded.code, loaded.stderr).toBe(0);
  });
  afterAll(stopAllHerdProcesses);

  it("is replaced by the nodes that remain, and a request sent meanwhile succeeds", async () => {
    const before = await complete(a, "stories260K");
    const bId = (await b.client.cluster()).self;
    const killedAt = Date.now();
    await b.kill();
    // Sent while the instance recovers: it waits for the new placement, then gets its answer.
    const duringRecovery = complete(c, "stories260K");
    const status = await waitFor(
      "the instance to be READY on the remaining nodes",
      async () => {
        const view = await a.client.cluster();
        const instance = view.desired.instances[0];
        const summary = view.instances.find((candidate) => candidate.id === instance?.id);
        const usesB = instance?.plan?.shards.some((shard) => shard.node === bId);
        return summary?.state === "READY" && instance && !usesB && view.epoch >= 2 ? instance : undefined;
      },
      30_000,
    );
    console.log(`kill -9 of a shard node to READY again: ${Date.now() - killedAt} ms`);
    expect(status.plan!.shards.length).toBeGreaterThanOrEqual(1);
    expect(await duringRecovery).toBe(before);
    expect(await complete(a, "stories260K")).toBe(before);
  });
});

describe("a model larger than a memory-limited cluster", () => {
  let a: HerdProcess;

  beforeAll(async () => {
    [a] = (await startCluster(["a", "b"], ["--memory-limit", "300M"])) as [HerdProcess];
    const synth = await a.cli([
      "models",
      "synth",
      "--name",
      "big",
      "--layers",
      "8",
      "--embedding",
      "1024",
      "--heads",
      "16",
    ]);
    expect(synth.code, synth.stderr).toBe(0);
  });
  afterAll(stopAllHerdProcesses);

  it("is refused with the planner's numbers and suggestions, through the CLI and the API", async () => {
    const planned = await a.cli(["plan", "big"]);
    expect(planned.code).toBe(1);
    expect(planned.stderr).toMatch(
      /model 'big' does not fit: it needs [\d.]+ GiB, the usable nodes have [\d.]+ GiB free/,
    );
    expect(planned.stderr).toContain("to make it fit");

    const loaded = await a.cli(["load", "big"]);
    expect(loaded.code).toBe(1);
    expect(loaded.stderr).toContain("does not fit");

    const response = await fetch(`${a.url}/herd/v1/instances`, {
      method: "POST",
      body: JSON.stringify({ model: "big" }),
    });
    expect(response.status).toBe(422);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("no_placement");
    expect((await a.client.cluster()).desired.instances).toEqual([]);
  });
});
