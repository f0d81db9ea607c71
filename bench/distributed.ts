/**
 * Distributed instances against raw llama.cpp: a synthetic model of realistic size split over 2 and
 * 3 loopback nodes through herd (RPC through the keyed tunnel), then the same split run by hand
 * (llama-server --rpc to plain ggml-rpc-servers, with the flags herd used). Prints decode tokens/s
 * of each and their ratio, herd's prediction against the measurement, and the first and second
 * load times of the same model (the second uses the rpc-servers' tensor cache).
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
import type { InstancePlan } from "../src/protocol/cluster.js";
import { findFreePort } from "../src/util/free-port.js";
import { distributedArgs } from "../src/worker/distributed-args.js";
import { benchShape, startBenchCluster } from "./bench-cluster.js";
import { runNetnsScenario } from "./distributed-netns.js";
import { runFabricScenario } from "./fabric-netns.js";
import { compare, loadTimed, type SplitOptions } from "./split-measurements.js";
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
      try {
        const [herdRate, rawRate] = await compare(head!.client.baseUrl, raw.url, split);
        await head!.client.unload("bench");
        await loadTimed(head!.client, count, "direct", split);
        const [directRate, rawRateAgain] = await compare(head!.client.baseUrl, raw.url, split);
        await head!.client.unload("bench");
        rows.push([
          String(count),
          rawRate.toFixed(2),
          herdRate.toFixed(2),
          (herdRate / rawRate).toFixed(3),
          directRate.toFixed(2),
          (directRate / rawRateAgain).toFixed(3),
          (instance.plan!.predictedDecodeTokensPerSecond ?? 0).toFixed(2),
          `${(first / 1000).toFixed(1)} s`,
          `${(second / 1000).toFixed(1)} s`,
        ]);
      } finally {
        raw.stop();
      }
    }
    const header = [
      "nodes",
      "raw llama.cpp tok/s",
      "herd (tunnel) tok/s",
      "ratio",
      "herd (direct) tok/s",
      "ratio",
      "predicted tok/s",
      "1st load",
      "2nd load",
    ];
    console.log(`| ${header.join(" | ")} |\n|${header.map(() => "---").join("|")}|`);
    for (const row of rows) console.log(`| ${row.join(" | ")} |`);
  } finally {
    await cluster.stop();
  }
}

/** Three nodes whose links are measured, so that the planner has the figures it plans with. */
async function startCluster(count: number) {
  const cluster = await startBenchCluster(count);
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
    for (let index = 1; index < count; index++) {
      const port = await findFreePort();
      const rpcArgs = ["--host", "127.0.0.1", "--port", String(port)];
      if (threads) rpcArgs.push("--threads", String(threads));
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
