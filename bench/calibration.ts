/**
 * The planner's prediction against the measured decode of a model split over 2 loopback nodes,
 * before and after calibration, in one run:
 *   1. prior: the first load plans with the chip table and herd's ping; its decode is measured;
 *   2. each node measures its engine (`herd engine calibrate`, which starts learnt corrections
 *      afresh); the second load plans with that and the RPC round trip timed at the first load;
 *   3. the third load plans with all of it and the corrections the second load's decode taught.
 * Decode is the client's view of one stream (tokens after the first per second), as in
 * bench:distributed.
 *
 *   npm run bench:calibration                        # bench:distributed's model (16 x 2048 q8_0)
 *   npm run bench:calibration -- --layers 8 --embedding 1024 --ff 2816 --heads 16 --kv-heads 4
 */
import { parseArgs } from "node:util";
import type { HerdClient } from "../src/client/herd-client.js";
import { calibrateLocalEngine } from "../src/main.js";
import { benchShape, startBenchCluster } from "./bench-cluster.js";
import { median, streamingSample, until } from "./streaming-sample.js";

const { values: options } = parseArgs({
  options: {
    layers: { type: "string", default: "16" },
    embedding: { type: "string", default: "2048" },
    ff: { type: "string", default: "5632" },
    heads: { type: "string", default: "32" },
    "kv-heads": { type: "string", default: "4" },
    type: { type: "string", default: "q8_0" },
    tokens: { type: "string", default: "32" },
    rounds: { type: "string", default: "6" },
  },
});

const load = {
  model: "bench",
  minNodes: 2,
  maxNodes: 2,
  split: "layer",
  parallel: 1,
  contextSize: 1024,
} as const;

async function main(): Promise<void> {
  // Node-started self-measures are off: step 2 takes them at a chosen moment, the cluster idle.
  const cluster = await startBenchCluster(2, { env: { HERD_CALIBRATE: "off" } });
  try {
    const client = cluster.nodes[0]!.client;
    await until(async () => {
      if ((await client.cluster()).links.length < 2) throw new Error("links not measured yet");
    }, 60_000);
    await client.synthModel(benchShape(options));
    const prior = await loadAndMeasure(client);
    await client.unload("bench");
    for (const node of cluster.nodes) {
      const measured = await calibrateLocalEngine({
        home: node.home,
        engineDirectory: cluster.engine.directory,
      });
      console.log(
        `${node.name}: ${(measured.bandwidthBytesPerSecond / 1e9).toFixed(2)} GB/s, ${(measured.tokenOverheadSeconds * 1000).toFixed(2)} ms per token besides`,
      );
    }
    // The nodes read the file within seconds and announce it with their next heartbeat.
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    const measured = await loadAndMeasure(client);
    await client.unload("bench");
    const after = await loadAndMeasure(client);
    const row = (what: string, result: { predicted: number; measured: number }) =>
      `| ${what} | ${result.predicted.toFixed(2)} | ${result.measured.toFixed(2)} | ${((result.predicted / result.measured - 1) * 100).toFixed(0)}% |`;
    console.log("\n| 2 nodes, layer split | predicted tok/s | measured tok/s | error |\n|---|---|---|---|");
    console.log(row("prior (chip table, herd's ping)", prior));
    console.log(row("self-measure + RPC round trip", measured));
    console.log(row("+ corrections from the previous load", after));
    console.log(`\nwhy (third load):\n${after.reasons.map((reason) => `  - ${reason}`).join("\n")}`);
  } finally {
    await cluster.stop();
  }
}

/** Loads the model over both nodes and measures its decode in `rounds` streams. */
async function loadAndMeasure(client: HerdClient) {
  await client.load(load);
  await until(async () => {
    const [status] = await client.instances();
    if (status?.state !== "READY") throw new Error(status?.reason ?? "not loaded");
  }, 600_000);
  const instance = (await client.cluster()).desired.instances[0]!;
  const body = { model: "bench", prompt: "Once upon a time", max_tokens: Number(options.tokens) };
  await streamingSample(client.baseUrl, body, undefined);
  const rates: number[] = [];
  for (let round = 0; round < Number(options.rounds); round++)
    rates.push((await streamingSample(client.baseUrl, body, undefined)).decodeTokensPerSecond);
  // Long enough for the node to compare the last stats interval with the plan.
  await new Promise((resolve) => setTimeout(resolve, 6_000));
  const plan = await client.plan(load).catch(() => undefined);
  return {
    predicted: instance.plan?.predictedDecodeTokensPerSecond ?? 0,
    measured: median(rates),
    reasons: plan?.reasons ?? [],
  };
}

await main();
