/**
 * Distributed instances against raw llama.cpp: a synthetic model of realistic size split over 2 and
 * 3 loopback nodes through herd (RPC through the keyed tunnel, then directly), each against the
 * same split run by hand (llama-server --rpc to plain ggml-rpc-servers, with the flags herd used;
 * the direct route's plan may give the blocks to other nodes, and the split by hand follows it).
 * Prints decode tokens/s of each and their ratio, herd's prediction for each route against the
 * measurement, before the instance ran and once it had (a plan made afterwards, with what the head
 * learnt of the route), and the first and second load times of the same model (the second uses
 * the rpc-servers' tensor cache).
 *
 * The default model has TinyLlama's shape (2048 wide, 5632 feed-forward, 32 heads, 4 KV heads) in
 * q8_0, 16 blocks, ~0.9 GB: its feed-forward tensors are over the 10 MiB above which an rpc-server
 * caches tensors, as a real model's are, so the second load shows the cache at work.
 *
 *   npm run bench:distributed                          # 32 tokens, 6 rounds, engines' default threads
 *   npm run bench:distributed -- --threads 1           # each engine on one thread, as on separate machines
 *   npm run bench:distributed -- --layers 20 --embedding 1024 --ff 2752 --heads 16 --kv-heads 16 --type f16
 *   sudo npm run bench:distributed -- --netns           # across network namespaces on a shaped LAN
 *                                                       # (distributed-netns.ts), an 8 x 1024 model
 *   sudo npm run bench:distributed -- --netns --fabric  # two hosts on that LAN and a cable: auto over
 *                                                       # the cable, then the LAN (fabric-netns.ts)
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { PlanView } from "../src/client/herd-client.js";
import { defaultEngineThreads } from "../src/engine/engine-threads.js";
import type { InstancePlan } from "../src/protocol/cluster.js";
import { findFreePort } from "../src/util/free-port.js";
import { distributedArgs } from "../src/worker/distributed-args.js";
import { benchShape, startBenchCluster } from "./bench-cluster.js";
import { runNetnsScenario } from "./distributed-netns.js";
import { runFabricScenario } from "./fabric-netns.js";
import { compare, loadTimed, type SplitOptions, splitRequest } from "./split-measurements.js";
import { until } from "./streaming-sample.js";

const { values: parsed } = parseArgs({
  options: {
    layers: { type: "string" },
    embedding: { type: "string" },
    ff: { type: "string" },
    heads: { type: "string" },
    "kv-heads": { type: "string" },
    type: { type: "string" },
    threads: { type: "string" },
    tokens: { type: "string", default: "32" },
    rounds: { type: "string", default: "6" },
    netns: { type: "boolean", default: false },
    fabric: { type: "boolean", default: false },
  },
});
// Across namespaces, three herds and six engines share this machine's CPU: a smaller model keeps a run to minutes.
const shapeDefaults = parsed.netns
  ? { layers: "8", embedding: "1024", ff: "2816", heads: "16", "kv-heads": "4", type: "q8_0" }
  : { layers: "16", embedding: "2048", ff: "5632", heads: "32", "kv-heads": "4", type: "q8_0" };
const options = {
  ...shapeDefaults,
  ...Object.fromEntries(Object.entries(parsed).filter(([, value]) => value !== undefined)),
} as typeof shapeDefaults & typeof parsed;
const threads = options.threads ? Number(options.threads) : undefined;
const split: SplitOptions = { threads, tokens: Number(options.tokens), rounds: Number(options.rounds) };

async function main(): Promise<void> {
  const cluster = await startCluster(3);
  const { engine } = cluster;
  try {
    const [head] = cluster.nodes;
    const embedding = Number(options.embedding);
    await head!.client.synthModel(benchShape(options));
    const model = (await head!.client.models()).find((candidate) => candidate.name === "bench")!;
    console.log(
      `model: ${options.layers} x ${embedding} ${options.type}, ${(model.sizeBytes / 2 ** 20).toFixed(0)} MiB, engine threads: ${options.threads ?? "default"}\n`,
    );
    const rows: string[][] = [];
    const placements: string[] = [];
    for (const count of [2, 3]) {
      const first = await loadTimed(head!.client, count, "tunnel", split);
      await head!.client.unload("bench");
      const second = await loadTimed(head!.client, count, "tunnel", split);
      const instance = (await head!.client.cluster()).desired.instances[0]!;
      // The raw split runs beside herd's, idle while the other is measured: rounds alternate so that
      // whatever else the machine does falls on both alike.
      const raw = await startRawLlamaCpp(
        engine.directory,
        engine.rpcServer,
        model.file,
        instance.plan!,
        count,
      );
      let rawForDirect = raw;
      try {
        const [herdRate, rawRate] = await compare(head!.client.baseUrl, raw.url, split);
        await head!.client.unload("bench");
        // Planned again once unloaded: what the head learnt of each route from the decode it saw.
        const learntTunnel = await head!.client.plan(splitRequest(count, "tunnel", split));
        await loadTimed(head!.client, count, "direct", split);
        const view = await head!.client.cluster();
        const directPlan = view.desired.instances[0]!.plan!;
        // Another route can give the blocks to other nodes: llama.cpp by hand then runs that split.
        if (!samePlacement(directPlan, instance.plan!)) {
          raw.stop();
          rawForDirect = await startRawLlamaCpp(
            engine.directory,
            engine.rpcServer,
            model.file,
            directPlan,
            count,
          );
        }
        const [directRate, rawRateAgain] = await compare(head!.client.baseUrl, rawForDirect.url, split);
        await head!.client.unload("bench");
        const learntDirect = await head!.client.plan(splitRequest(count, "direct", split));
        const versus = (prediction: number | undefined, measured: number) =>
          `${(prediction ?? 0).toFixed(2)} (${signedPercent((prediction ?? 0) / measured)})`;
        // A plan made after the run may place the blocks otherwise (marked *): its figure is then
        // for another split than the one measured.
        const learnt = (plan: PlanView, measuredPlan: InstancePlan, measured: number) =>
          `${versus(plan.predicted?.decodeTokensPerSecond, measured)}${placementOf(plan, view) === placementOf(measuredPlan, view) ? "" : "*"}`;
        rows.push([
          String(count),
          rawRate.toFixed(2),
          herdRate.toFixed(2),
          (herdRate / rawRate).toFixed(3),
          directRate.toFixed(2),
          (directRate / rawRateAgain).toFixed(3),
          versus(instance.plan!.predictedDecodeTokensPerSecond, herdRate),
          learnt(learntTunnel, instance.plan!, herdRate),
          versus(directPlan.predictedDecodeTokensPerSecond, directRate),
          learnt(learntDirect, directPlan, directRate),
          `${(first / 1000).toFixed(1)} s`,
          `${(second / 1000).toFixed(1)} s`,
        ]);
        placements.push(
          `${count} nodes: tunnel ${placementOf(instance.plan!, view)} (after one run: ${placementOf(learntTunnel, view)}); direct ${placementOf(directPlan, view)} (after one run: ${placementOf(learntDirect, view)})`,
        );
      } finally {
        raw.stop();
        rawForDirect.stop();
      }
    }
    const header = [
      "nodes",
      "raw llama.cpp tok/s",
      "herd (tunnel) tok/s",
      "ratio",
      "herd (direct) tok/s",
      "ratio",
      "predicted, tunnel",
      "after one run",
      "predicted, direct",
      "after one run",
      "1st load",
      "2nd load",
    ];
    console.log(`| ${header.join(" | ")} |\n|${header.map(() => "---").join("|")}|`);
    for (const row of rows) console.log(`| ${row.join(" | ")} |`);
    console.log(
      `\nblocks (llama.cpp by hand runs the same; "after one run" is a plan made once the instance has run, with what the head learnt of each route; * where it places the blocks otherwise):\n${placements.join("\n")}`,
    );
  } finally {
    await cluster.stop();
  }
}

/** Whether two plans split the model alike (the same flags for llama-server, whatever the endpoints). */
function samePlacement(a: InstancePlan, b: InstancePlan): boolean {
  const endpoints = (plan: InstancePlan) => (plan.rpcNodes ?? []).map((_, index) => `shard-${index}`);
  return (
    JSON.stringify(distributedArgs(a, endpoints(a))) === JSON.stringify(distributedArgs(b, endpoints(b))) &&
    JSON.stringify(a.rpcNodes) === JSON.stringify(b.rpcNodes)
  );
}

/** Each node's blocks, by name: "a 0-3, b 4-7". */
function placementOf(
  plan: { shards: Array<{ node: string; layerStart: number; layerEnd: number }> },
  view: { nodes: Array<{ id: string; name: string }> },
): string {
  const nameOf = (id: string) => view.nodes.find((node) => node.id === id)?.name ?? id.slice(0, 8);
  return plan.shards
    .map((shard) => `${nameOf(shard.node)} ${shard.layerStart}-${shard.layerEnd - 1}`)
    .join(", ");
}

/** A prediction against the measurement, as a signed percentage ("+12.3%"). */
function signedPercent(ratio: number): string {
  const percent = (ratio - 1) * 100;
  return `${percent >= 0 ? "+" : ""}${percent.toFixed(1)}%`;
}

/** Three nodes whose links are measured, so that the planner has the figures it plans with. */
async function startCluster(count: number) {
  const cluster = await startBenchCluster(count, { engineThreads: threads });
  const { client } = cluster.nodes[0]!;
  await until(async () => {
    const view = await client.cluster();
    if (view.links.length < count * (count - 1)) throw new Error("links not measured yet");
  }, 60_000);
  // The second round of link measurements, taken once the join has settled, is the one to plan with.
  await new Promise((resolve) => setTimeout(resolve, 12_000));
  return cluster;
}

/** The same split run by hand: plain ggml-rpc-servers and llama-server --rpc, no herd in between. */
async function startRawLlamaCpp(
  engineDirectory: string,
  rpcServer: string,
  modelFile: string,
  plan: InstancePlan,
  count: number,
): Promise<{ url: string; stop(): void }> {
  const processes: ChildProcess[] = [];
  const stop = () => {
    for (const child of processes) child.kill("SIGKILL");
  };
  try {
    const endpoints: string[] = [];
    // herd gives its rpc-servers llama-server's default where no threads are asked for.
    const rpcThreads = threads ?? (await defaultEngineThreads());
    for (let index = 1; index < count; index++) {
      const port = await findFreePort();
      const rpcArgs = ["--host", "127.0.0.1", "--port", String(port)];
      if (rpcThreads) rpcArgs.push("--threads", String(rpcThreads));
      processes.push(spawn(rpcServer, rpcArgs, { stdio: "ignore" }));
      endpoints.push(`127.0.0.1:${port}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const port = await findFreePort();
    // The flags herd itself derives from the plan, so both runs split the model the same way.
    const args = ["--model", modelFile, "--alias", "bench", "--host", "127.0.0.1", "--port", String(port)];
    args.push("--ctx-size", "1024", "--parallel", "1", ...distributedArgs(plan, endpoints));
    if (threads) args.push("--threads", String(threads));
    processes.push(spawn(join(engineDirectory, "llama-server"), args, { stdio: "ignore" }));
    await until(async () => {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      if (response.status !== 200) throw new Error("loading");
    }, 600_000);
    return { url: `http://127.0.0.1:${port}`, stop };
  } catch (error) {
    stop();
    throw error;
  }
}

if (options.netns) {
  const shape = benchShape(options);
  await (options.fabric ? runFabricScenario(shape, split) : runNetnsScenario(shape, split));
} else {
  await main();
}
