/**
 * Load and fault test: many streaming clients against one instance split over loopback nodes, for a
 * bounded time. Every request must complete or end in a clean protocol error; reports time to first
 * token, tokens/s, errors by kind, the RSS of every herd process after warm-up and at the end, and
 * how fast a client that leaves mid-stream frees its engine slot. With --kill, one node is killed
 * with -9 partway through and the recovery is timed; afterwards every HERD_HOME must still parse and
 * the killed node must start again from it.
 *
 *   npm run load -- --clients 64 --minutes 5
 *   npm run load -- --clients 16 --seconds 90 --kill shard --after 30
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildEngineForMachine } from "../src/main.js";
import { OutcomeTally, type StreamOutcome, streamRequest } from "../test/support/streaming-request.js";
import { type LoadNode, startLoadCluster } from "./load-cluster.js";
import { until } from "./streaming-sample.js";

const { values: options } = parseArgs({
  options: {
    clients: { type: "string", default: "64" },
    minutes: { type: "string", default: "5" },
    seconds: { type: "string" },
    "max-tokens": { type: "string", default: "64" },
    parallel: { type: "string", default: "8" },
    layers: { type: "string", default: "4" },
    embedding: { type: "string", default: "256" },
    "disconnect-every": { type: "string", default: "10" },
    kill: { type: "string" },
    after: { type: "string", default: "30" },
    "deadline-seconds": { type: "string", default: "150" },
  },
});
const kill = options.kill as "head" | "shard" | "coordinator" | undefined;
if (kill && !["head", "shard", "coordinator"].includes(kill))
  throw new Error("--kill is head, shard or coordinator");
const durationMs = (options.seconds ? Number(options.seconds) : Number(options.minutes) * 60) * 1000;
const clients = Number(options.clients);
const parallel = Number(options.parallel);
const model = "load";

async function main(): Promise<void> {
  const engine = await buildEngineForMachine({}, {});
  const base = await mkdtemp(join(tmpdir(), "herd-load-"));
  const env = { ...process.env, HERD_ENGINE_DIR: engine.directory, HERD_LOG_LEVEL: "info" };
  // A fault run needs nodes to spare: the instance uses two of b, c, d, so that losing its head or
  // a shard leaves two to place it on again, and a (the coordinator) takes client traffic.
  const names = kill ? ["a", "b", "c", "d"] : ["a", "b"];
  const nodes = await startLoadCluster(base, names, env);
  let finished = false;
  try {
    const holders = kill ? nodes.slice(1) : nodes.slice(0, 1);
    const embedding = Number(options.embedding);
    for (const node of holders) {
      await node.client.synthModel({
        name: model,
        layers: Number(options.layers),
        embedding,
        feedForward: Math.ceil((embedding * 8) / 3 / 32) * 32,
        heads: embedding / 64,
        kvHeads: embedding / 64,
        type: "f16",
        contextLength: 2048,
        seed: 1,
      });
    }
    await holders[0]!.client.load({
      model,
      split: "layer",
      minNodes: 2,
      maxNodes: 2,
      parallel,
      contextSize: parallel * 512,
      nodes: kill ? ["b", "c", "d"] : undefined,
    });
    const placed = await waitForReady(nodes[0]!);
    const nameOf = (id: string) => nodes.find((node) => node.name === placed.names.get(id))!;
    const head = nameOf(placed.head);
    const shard = nameOf(placed.shards.find((id) => id !== placed.head)!);
    const victim =
      kill === "head" ? head : kill === "shard" ? shard : kill === "coordinator" ? nodes[0]! : undefined;
    const spare = nodes.find((node) => node !== head && node !== shard && node !== nodes[0]);
    // Clients talk to nodes that stay up; without a fault, to both (served here and forwarded).
    const entries = kill === "coordinator" ? [spare!] : kill ? [nodes[0]!] : nodes;
    console.log(
      `instance split over ${head.name} (head) and ${shard.name}; ${clients} clients through ${entries.map((node) => node.name).join(", ")} for ${durationMs / 1000} s` +
        (victim ? `; kill -9 of ${victim.name} (${kill}) after ${options.after} s` : ""),
    );
    for (const entry of entries) await waitForReady(entry);

    const tally = new OutcomeTally();
    const ttfts: number[] = [];
    let tokens = 0;
    const completions: Array<{ at: number; outcome: StreamOutcome }> = [];
    const started = Date.now();
    const stopAt = started + durationMs;
    const warmUpMs = Math.min(30_000, durationMs / 5);
    let requestCount = 0;
    const workers = Array.from({ length: clients }, async (_, client) => {
      for (let round = 0; Date.now() < stopAt; round++) {
        const disconnect = ++requestCount % Number(options["disconnect-every"]) === 0;
        const outcome = await streamRequest({
          url: entries[(client + round) % entries.length]!.url,
          model,
          maxTokens: Number(options["max-tokens"]),
          deadlineMs: Number(options["deadline-seconds"]) * 1000,
          disconnectAfterTokens: disconnect ? 4 : undefined,
        });
        tally.add(outcome);
        completions.push({ at: Date.now(), outcome });
        if (outcome.kind === "completed") {
          if (Date.now() - started > warmUpMs) ttfts.push(outcome.ttftMs);
          tokens += outcome.tokens;
        } else if (outcome.kind === "disconnected") tokens += outcome.tokens;
        else await new Promise((resolve) => setTimeout(resolve, 200));
      }
    });

    const rss = new Map<string, number[]>();
    const sampleRss = async () => {
      for (const node of nodes) {
        if (node === victim && killedAt) continue;
        const list = rss.get(node.name) ?? [];
        list.push(await node.residentBytes());
        rss.set(node.name, list);
      }
    };
    let killedAt = 0;
    const recovery: Record<string, number> = {};
    const monitor = (async () => {
      await sleepUntil(started + warmUpMs);
      await sampleRss();
      // Between the first and last sample, one every 30 s shows the trend (a leak climbs steadily).
      const sampler = setInterval(() => void sampleRss(), 30_000);
      const stopSampling = new Promise<void>((resolve) => setTimeout(resolve, stopAt - 2000 - Date.now()));
      void stopSampling.then(() => clearInterval(sampler));
      if (victim) {
        await sleepUntil(started + Number(options.after) * 1000);
        killedAt = Date.now();
        victim.kill();
        const observer = entries[0]!;
        await until(async () => {
          const view = await observer.client.cluster();
          const victimId = [...placed.names].find(([, name]) => name === victim.name)![0];
          if (kill === "coordinator") {
            if (view.coordinator === victimId || view.coordinator === null)
              throw new Error("no new coordinator");
          } else {
            const instance = view.desired.instances[0];
            const summary = view.instances.find((candidate) => candidate.id === instance?.id);
            if (summary?.state !== "READY" || instance?.plan?.shards.some((part) => part.node === victimId))
              throw new Error("not recovered");
          }
        }, 300_000);
        recovery["recovered (READY / new coordinator)"] = Date.now() - killedAt;
      }
      await sleepUntil(stopAt - 2000);
      await sampleRss();
    })();
    await Promise.all([...workers, monitor]);
    const elapsedS = (Date.now() - started) / 1000;
    if (killedAt) {
      const firstAfter = completions.find(
        (entry) => entry.at > killedAt + 50 && entry.outcome.kind === "completed",
      );
      if (firstAfter) recovery["first request completed after the kill"] = firstAfter.at - killedAt;
    }

    // After the load: nothing may hold a slot, and a client leaving mid-stream frees its slot at once.
    const live = nodes.filter((node) => node !== victim);
    const headNow = await currentHead(entries[0]!, live);
    const idle = await slotsInUse(headNow);
    const freed = await disconnectProbe(entries, headNow);

    const sorted = [...ttfts].sort((a, b) => a - b);
    const percentile = (p: number) =>
      sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
    const served500 = [...tally.counts]
      .filter(([key]) => key.startsWith("error 500"))
      .reduce((sum, [, n]) => sum + n, 0);
    console.log("\n## results\n");
    console.log(`requests: ${completions.length} in ${elapsedS.toFixed(0)} s (${tally})`);
    console.log(`hung (no answer within ${options["deadline-seconds"]} s): ${tally.count("hung")}`);
    console.log(
      `broken (cut without a protocol error): ${tally.count("broken")} ${tally.broken.slice(0, 5).join(" | ")}`,
    );
    console.log(`HTTP 500: ${served500}`);
    console.log(
      `time to first token after warm-up: p50 ${percentile(50).toFixed(0)} ms, p99 ${percentile(99).toFixed(0)} ms`,
    );
    console.log(`tokens streamed: ${tokens} = ${(tokens / elapsedS).toFixed(1)} tokens/s over all clients`);
    console.log(`engine slots in use once the load stopped: ${idle}`);
    console.log(
      `slots freed after ${freed.clients} clients left mid-stream: ${freed.busy} busy -> 0 in ${freed.ms} ms`,
    );
    console.log(
      "\n| node | RSS after warm-up | RSS at end | growth | lowest..highest between |\n|---|---|---|---|---|",
    );
    for (const [name, samples] of rss) {
      const [first, last] = [samples[0]!, samples.at(-1)!];
      const range =
        name === victim?.name ? "killed" : `${mib(Math.min(...samples))}..${mib(Math.max(...samples))}`;
      console.log(
        `| ${name} | ${mib(first)} | ${mib(last)} | ${(((last - first) / first) * 100).toFixed(1)}% | ${range} |`,
      );
    }
    for (const [what, ms] of Object.entries(recovery)) console.log(`${kill} killed -> ${what}: ${ms} ms`);
    if (victim) {
      const problems = (await Promise.all(nodes.map((node) => node.corruptStateFiles()))).flat();
      console.log(
        `HERD_HOME state files that do not parse: ${problems.length === 0 ? "none" : problems.join("; ")}`,
      );
      await victim.start([]);
      await until(async () => {
        const view = await victim.client.cluster();
        if (view.nodes.filter((node) => node.state === "alive").length < nodes.length)
          throw new Error("not rejoined");
      }, 120_000);
      console.log(`${victim.name} started again from its HERD_HOME and rejoined the cluster`);
    }
    finished = true;
  } finally {
    await Promise.all(nodes.map((node) => node.stop()));
    // A failed run keeps its homes: the node logs say what went wrong.
    if (finished) await rm(base, { recursive: true, force: true });
    else console.error(`kept the nodes' homes for inspection: ${base}`);
  }
}

/** Waits until `node` sees the instance READY; returns its head, its shards' nodes and node names. */
async function waitForReady(node: LoadNode) {
  let result: { head: string; shards: string[]; names: Map<string, string> } | undefined;
  await until(async () => {
    const view = await node.client.cluster();
    const instance = view.desired.instances[0];
    const summary = view.instances.find((candidate) => candidate.id === instance?.id);
    if (summary?.state !== "READY" || !instance?.plan) throw new Error(summary?.reason ?? "not placed yet");
    result = {
      head: instance.node,
      shards: instance.plan.shards.map((part) => part.node),
      names: new Map(view.nodes.map((member) => [member.id, member.name])),
    };
  }, 600_000);
  return result!;
}

async function currentHead(observer: LoadNode, nodes: LoadNode[]): Promise<LoadNode> {
  const placed = await waitForReady(observer);
  return nodes.find((node) => node.name === placed.names.get(placed.head))!;
}

/** Engine slots in use on the head, from its /metrics. */
async function slotsInUse(head: LoadNode): Promise<number> {
  const text = await (await fetch(`${head.url}/metrics`)).text();
  return [...text.matchAll(/^herd_instance_slots_in_use\{[^}]*\} (\S+)$/gm)].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
}

/** Fills every slot with long streams through the entry nodes, leaves them all after a few tokens, and times until the engine has no slot in use. */
async function disconnectProbe(entries: LoadNode[], head: LoadNode) {
  const leave = new AbortController();
  let reading = 0;
  const streams = Array.from({ length: parallel }, async (_, index) => {
    const response = await fetch(`${entries[index % entries.length]!.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({
        model,
        prompt: "Once upon a time",
        max_tokens: 4000,
        ignore_eos: true,
        stream: true,
      }),
      signal: leave.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.read();
    reading++;
    await new Promise<void>((resolve) => leave.signal.addEventListener("abort", () => resolve()));
    await reader.cancel().catch(() => undefined);
  });
  await until(async () => {
    if (reading < parallel) throw new Error("streams starting");
  }, 60_000);
  const busy = await slotsInUse(head);
  const leftAt = performance.now();
  leave.abort();
  await Promise.allSettled(streams);
  while ((await slotsInUse(head)) > 0) {
    if (performance.now() - leftAt > 30_000)
      throw new Error("slots still busy 30 s after their clients left");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { clients: parallel, busy, ms: Math.round(performance.now() - leftAt) };
}

function sleepUntil(time: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, time - Date.now())));
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

await main();
