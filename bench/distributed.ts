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
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { HerdClient } from "../src/client/herd-client.js";
import type { InstancePlan } from "../src/protocol/cluster.js";
import { findFreePort } from "../src/util/free-port.js";
import { distributedArgs } from "../src/worker/distributed-args.js";
import { startBenchCluster } from "./bench-cluster.js";
import { median, streamingSample, until } from "./streaming-sample.js";

const { values: options } = parseArgs({
  options: {
    layers: { type: "string", default: "16" },
    embedding: { type: "string", default: "2048" },
    ff: { type: "string", default: "5632" },
    heads: { type: "string", default: "32" },
    "kv-heads": { type: "string", default: "4" },
    type: { type: "string", default: "q8_0" },
    threads: { type: "string" },
    tokens: { type: "string", default: "32" },
    rounds: { type: "string", default: "6" },
  },
});
const threads = options.threads ? Number(options.threads) : undefined;

async function main(): Promise<void> {
  const cluster = await startCluster(3);
  const { engine } = cluster;
  try {
    const [head] = cluster.nodes;
    const embedding = Number(options.embedding);
    await head!.client.synthModel({
      name: "bench",
      layers: Number(options.layers),
      embedding,
      feedForward: Number(options.ff),
      heads: Number(options.heads),
      kvHeads: Number(options["kv-heads"]),
      type: options.type as "f16" | "q8_0" | "q4_0",
    });
    const model = (await head!.client.models()).find((candidate) => candidate.name === "bench")!;
    console.log(
      `model: ${options.layers} x ${embedding} ${options.type}, ${(model.sizeBytes / 2 ** 20).toFixed(0)} MiB, engine threads: ${options.threads ?? "default"}\n`,
    );
    const rows: string[][] = [];
    for (const count of [2, 3]) {
      const first = await loadTimed(head!.client, count, "tunnel");
      await head!.client.unload("bench");
      const second = await loadTimed(head!.client, count, "tunnel");
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
        const [herdRate, rawRate] = await compare(head!.client.baseUrl, raw.url);
        await head!.client.unload("bench");
        await loadTimed(head!.client, count, "direct");
        const [directRate, rawRateAgain] = await compare(head!.client.baseUrl, raw.url);
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

/** Loads over exactly `count` nodes and returns the milliseconds until READY. */
async function loadTimed(
  client: HerdClient,
  count: number,
  rpcTransport: "tunnel" | "direct",
): Promise<number> {
  const started = Date.now();
  await client.load({
    model: "bench",
    minNodes: count,
    maxNodes: count,
    split: "layer",
    parallel: 1,
    contextSize: 1024,
    rpcTransport,
    ...(threads ? { threads } : {}),
  });
  await until(async () => {
    const [status] = await client.instances();
    if (status?.state !== "READY") throw new Error(status?.reason ?? "not loaded");
  }, 600_000);
  return Date.now() - started;
}

/** Median decode tokens/s of two endpoints serving the same model, measured in alternating rounds. */
async function compare(first: string, second: string): Promise<[number, number]> {
  const body = { model: "bench", prompt: "Once upon a time", max_tokens: Number(options.tokens) };
  await streamingSample(first, body, undefined);
  await streamingSample(second, body, undefined);
  const rates: [number[], number[]] = [[], []];
  for (let round = 0; round < Number(options.rounds); round++) {
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    for (const index of order) {
      const sample = await streamingSample(index === 0 ? first : second, body, undefined);
      rates[index]!.push(sample.decodeTokensPerSecond);
    }
  }
  return [median(rates[0]), median(rates[1])];
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

await main();
