/**
 * herd's benchmark suite. Each scenario starts its own loopback nodes and synthetic models of
 * realistic shape, measures through herd's API as a client would, alternates what it compares so
 * that whatever else the machine does falls on both sides alike, and writes JSON and a Markdown
 * table under bench-results/.
 *
 *   npm run bench -- suite [--layers 8 --embedding 2048]  TTFT and decode by prompt size and length;
 *                                                         1-16 concurrent streams; herd against the
 *                                                         engine directly; predicted against measured
 *   (suite and replicas also take --type f16|q8_0|q4_0 and --kv-heads N for the model's shape)
 *   npm run bench -- replicas [--streams 8]               two replicas on two nodes against one instance,
 *                                                         every engine on one thread (16 x 2048 q4_0)
 *   npm run bench -- speculative [--tokens 128]           a draft model on against off, repetitive text
 *   npm run bench -- overhead [...]                       herd's cost per token (bench/overhead.ts)
 *   npm run bench -- distributed [...]                    split instances against raw llama.cpp
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { runBenchSuite, suiteMarkdown } from "../src/client/bench-suite.js";
import {
  benchmarkPrompt,
  concurrentStreams,
  markdownTable,
  median,
  streamCompletion,
} from "../src/client/load-generator.js";
import {
  type BenchNode,
  engineKey,
  startBenchCluster,
  synthShape,
  untilReady,
  writeResults,
} from "./bench-cluster.js";

const [scenario = "suite", ...rest] = process.argv.slice(2);
const { values: options } = parseArgs({
  args: rest,
  strict: false,
  options: {
    layers: { type: "string" },
    embedding: { type: "string" },
    tokens: { type: "string" },
    rounds: { type: "string" },
    streams: { type: "string" },
    type: { type: "string" },
    "kv-heads": { type: "string" },
  },
});
const number = (value: string | boolean | undefined, fallback: number) =>
  typeof value === "string" ? Number(value) : fallback;
/** `--type q8_0 --kv-heads 4`: the weights' type and grouped-query attention, as real models have. */
const shapeOptions = {
  ...(typeof options.type === "string" ? { type: options.type as "f16" | "q8_0" | "q4_0" } : {}),
  ...(typeof options["kv-heads"] === "string" ? { kvHeads: Number(options["kv-heads"]) } : {}),
};

const scenarios: Record<string, () => Promise<void>> = {
  overhead: () => runScript("overhead.ts"),
  distributed: () => runScript("distributed.ts"),
  suite,
  replicas,
  speculative,
};

/**
 * One node, one model: prompt sizes, generation lengths, 1-16 streams, herd against the engine. The
 * default model (8 x 2048 f16, 4 KV heads, 0.9 GiB) reads more weight bytes per token than its
 * arithmetic takes, as real models do on CPUs and GPUs, so batching streams pays as it would there;
 * a narrow model is bound by arithmetic and batches far less (8 x 768: 2.7x at 8 streams, against 3.2x).
 */
async function suite(): Promise<void> {
  const cluster = await startBenchCluster(1);
  try {
    const [node] = cluster.nodes as [BenchNode];
    const shape = synthShape("bench", number(options.layers, 8), number(options.embedding, 2048), {
      kvHeads: 4,
      ...shapeOptions,
    });
    await node.client.synthModel(shape);
    await node.client.load({ model: "bench", parallel: 16, contextSize: 16 * 2048 });
    await untilReady(node.client, "bench");
    const result = await runBenchSuite(node.client, {
      model: "bench",
      rounds: number(options.rounds, 3),
      generate: [32, number(options.tokens, 128)],
      onProgress: (line) => console.error(line),
    });
    // herd against the engine it started, same instance, alternating rounds.
    const [instance] = await node.client.instances();
    const key = await engineKey(node, instance!.id);
    const direct = `http://127.0.0.1:${instance!.enginePort}`;
    const versusEngine: Array<{ streams: number; herd: number; engine: number; ratio: number }> = [];
    for (const streams of [1, 8]) {
      const herd: number[] = [];
      const engine: number[] = [];
      for (let round = 0; round < number(options.rounds, 3) * 2; round++) {
        const measure = (baseUrl: string, apiKey?: string) =>
          concurrentStreams(
            { baseUrl, apiKey, model: "bench", maxTokens: number(options.tokens, 128) },
            streams,
            (stream) => benchmarkPrompt(16, round * 100 + stream),
          );
        const first = round % 2 === 0;
        const a = await measure(first ? node.client.baseUrl : direct, first ? undefined : key);
        const b = await measure(first ? direct : node.client.baseUrl, first ? key : undefined);
        (first ? herd : engine).push(a.aggregateTokensPerSecond);
        (first ? engine : herd).push(b.aggregateTokensPerSecond);
      }
      versusEngine.push({
        streams,
        herd: median(herd),
        engine: median(engine),
        ratio: median(herd) / median(engine),
      });
      console.error(
        `herd against the engine at ${streams} streams: ${(median(herd) / median(engine)).toFixed(3)}`,
      );
    }
    const markdown = [
      `model: ${shape.layers} x ${shape.embedding} ${shape.type}, ${shape.kvHeads} KV heads, one node, --parallel 16`,
      "",
      suiteMarkdown(result),
      "",
      markdownTable(
        ["streams", "herd tok/s", "engine direct tok/s", "herd / direct"],
        versusEngine.map((row) => [String(row.streams), row.herd, row.engine, row.ratio]),
      ),
    ].join("\n");
    console.log(markdown);
    console.error(
      `wrote ${await writeResults("suite", { shape, result, versusEngine }, markdown)}.{json,md}`,
    );
  } finally {
    await cluster.stop();
  }
}

/**
 * One instance against two replicas on two nodes, each engine on one thread so that loopback nodes
 * on one machine behave like separate one-core machines. Both are loaded at once (as two model names
 * of one file) and measured in alternating rounds.
 *
 * The default model is TinyLlama's shape in 4-bit weights (16 x 2048, 4 KV heads, q4_0), the kind
 * of file people run on CPUs. Its repacked 4-bit kernels are bound by arithmetic on one core, so one
 * engine gains little from batching 8 streams over 4, and a second machine nearly doubles what the
 * cluster serves. Weights that batch well (f16: 8 streams give 1.45x the tokens of 4 on one core)
 * leave replicas less to add, and the scenario prints that bound beside the measurement.
 */
async function replicas(): Promise<void> {
  const cluster = await startBenchCluster(2);
  try {
    const [a, b] = cluster.nodes as [BenchNode, BenchNode];
    const shape = synthShape("one", number(options.layers, 16), number(options.embedding, 2048), {
      type: "q4_0",
      kvHeads: 4,
      ...shapeOptions,
    });
    await a.client.synthModel(shape);
    const file = (await a.client.models()).find((model) => model.name === "one")!.file;
    await a.client.importModel({ path: file, name: "pair" });
    await b.client.importModel({ path: file, name: "pair" });
    const streams = number(options.streams, 8);
    const common = { parallel: streams, contextSize: streams * 1024, threads: 1 };
    await a.client.load({ model: "one", nodes: ["a"], ...common });
    await untilReady(a.client, "one");
    // b's heartbeats announce that it holds the file within a few seconds.
    for (let attempt = 0; ; attempt++) {
      try {
        await a.client.load({ model: "pair", replicas: 2, ...common });
        break;
      } catch (error) {
        if (attempt > 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
    await untilReady(a.client, "pair");
    const rounds = number(options.rounds, 4);
    const rates: Record<"one" | "pair", number[]> = { one: [], pair: [] };
    const servedBy: Record<string, number> = {};
    for (let round = 0; round < rounds * 2; round++) {
      const model = round % 2 === 0 ? "one" : "pair";
      const sample = await concurrentStreams(
        { baseUrl: a.client.baseUrl, model, maxTokens: number(options.tokens, 64) },
        streams,
        (stream) => benchmarkPrompt(16, round * 100 + stream),
      );
      rates[model].push(sample.aggregateTokensPerSecond);
      if (model === "pair")
        for (const [key, count] of Object.entries(sample.servedBy))
          servedBy[key] = (servedBy[key] ?? 0) + count;
      console.error(`${model}: ${sample.aggregateTokensPerSecond.toFixed(1)} tok/s`);
    }
    const one = median(rates.one);
    const pair = median(rates.pair);
    // What the engine allows: two replicas split the streams, so each batches half as many. The
    // engine of "one", measured directly at half and at all the streams, bounds the pair's gain at
    // 2 x rate(half) / rate(all) even with nothing between client and engine.
    const instance = (await a.client.instances()).find((status) => status.model === "one")!;
    const direct = {
      baseUrl: `http://127.0.0.1:${instance.enginePort}`,
      apiKey: await engineKey(a, instance.id),
      model: "one",
      maxTokens: number(options.tokens, 64),
    };
    const half = Math.max(1, Math.floor(streams / 2));
    const engineRates: Record<"half" | "all", number[]> = { half: [], all: [] };
    for (let round = 0; round < rounds * 2; round++) {
      const which = round % 2 === 0 ? "half" : "all";
      const sample = await concurrentStreams(direct, which === "half" ? half : streams, (stream) =>
        benchmarkPrompt(16, 10_000 + round * 100 + stream),
      );
      engineRates[which].push(sample.aggregateTokensPerSecond);
    }
    const bound = (2 * median(engineRates.half)) / median(engineRates.all);
    const markdown = [
      `model: ${shape.layers} x ${shape.embedding} ${shape.type}, ${shape.kvHeads} KV heads; ${streams} concurrent streams; every engine --threads 1`,
      "",
      markdownTable(
        ["configuration", "aggregate tok/s", "× one instance"],
        [
          ["one instance (node a)", one, 1],
          ["two replicas (nodes a and b)", pair, pair / one],
        ],
      ),
      "",
      `engine alone (node a, no herd): ${median(engineRates.half).toFixed(1)} tok/s at ${half} streams, ${median(engineRates.all).toFixed(1)} at ${streams}: two replicas can give at most ${bound.toFixed(2)}x`,
      "",
      `requests per replica: ${Object.entries(servedBy)
        .map(([key, count]) => `${key} ${count}`)
        .join(", ")}`,
    ].join("\n");
    console.log(markdown);
    console.error(
      `wrote ${await writeResults("replicas", { shape, rates, servedBy, engineRates, bound }, markdown)}.{json,md}`,
    );
  } finally {
    await cluster.stop();
  }
}

/**
 * A draft model on against off. The target and its draft share seed and width, their blocks scaled
 * down, so the one-block draft predicts most of the deep target's tokens and greedy generation
 * repeats itself (the kind of text speculation speeds up).
 * Both are loaded at once (the target twice, under two names) and measured in alternating rounds.
 */
async function speculative(): Promise<void> {
  const cluster = await startBenchCluster(1);
  try {
    const [node] = cluster.nodes as [BenchNode];
    const layers = number(options.layers, 16);
    const embedding = number(options.embedding, 768);
    const target = synthShape("target", layers, embedding, { blockScale: 0.0001 });
    await node.client.synthModel(target);
    await node.client.synthModel(synthShape("draft", 1, embedding, { blockScale: 0.0001 }));
    const file = (await node.client.models()).find((model) => model.name === "target")!.file;
    await node.client.importModel({ path: file, name: "target-speculative" });
    await node.client.load({ model: "target", parallel: 1, contextSize: 2048 });
    await node.client.load({
      model: "target-speculative",
      parallel: 1,
      contextSize: 2048,
      draft: "draft",
      draftMax: 8,
    });
    await untilReady(node.client, "target");
    await untilReady(node.client, "target-speculative");
    const tokens = number(options.tokens, 128);
    const rates: Record<string, number[]> = { off: [], on: [] };
    // CPU time the engine spent per token: on a machine other work shares, wall-clock rates swing
    // with that work; the engine's own CPU time per token measures what speculation saves.
    const cpuPerToken: Record<string, number[]> = { off: [], on: [] };
    const pids = Object.fromEntries(
      (await node.client.instances()).map((status) => [status.model, status.enginePid!]),
    );
    let drafted = 0;
    let accepted = 0;
    for (let round = 0; round < number(options.rounds, 4) * 2; round++) {
      const on = round % 2 === 1;
      const pid = pids[on ? "target-speculative" : "target"]!;
      const cpuBefore = await processCpuMs(pid);
      const sample = await streamCompletion({
        baseUrl: node.client.baseUrl,
        model: on ? "target-speculative" : "target",
        prompt: benchmarkPrompt(16, round >> 1),
        maxTokens: tokens,
      });
      rates[on ? "on" : "off"]!.push(sample.decodeTokensPerSecond);
      cpuPerToken[on ? "on" : "off"]!.push(((await processCpuMs(pid)) - cpuBefore) / sample.tokens);
      drafted += sample.draftTokens ?? 0;
      accepted += sample.draftAccepted ?? 0;
      console.error(`speculative ${on ? "on" : "off"}: ${sample.decodeTokensPerSecond.toFixed(2)} tok/s`);
    }
    const off = median(rates.off!);
    const on = median(rates.on!);
    const cpuOff = median(cpuPerToken.off!);
    const cpuOn = median(cpuPerToken.on!);
    const markdown = [
      `target ${layers} x ${embedding} f16, draft 1 x ${embedding} f16 (same seed, blocks scaled 1e-4); ${tokens} tokens, one stream`,
      "",
      markdownTable(
        ["speculative", "decode tok/s", "× off", "engine CPU ms/token", "tokens per CPU second × off"],
        [
          ["off", off, 1, cpuOff, 1],
          ["on (--draft, up to 8 tokens)", on, on / off, cpuOn, cpuOff / cpuOn],
        ],
      ),
      "",
      `draft tokens accepted: ${accepted} of ${drafted} (${((accepted / Math.max(1, drafted)) * 100).toFixed(0)}%)`,
    ].join("\n");
    console.log(markdown);
    console.error(
      `wrote ${await writeResults("speculative", { rates, cpuPerToken, drafted, accepted }, markdown)}.{json,md}`,
    );
  } finally {
    await cluster.stop();
  }
}

/** User plus system CPU time of a process so far, from /proc (NaN where there is none). */
async function processCpuMs(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

function runScript(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", new URL(script, import.meta.url).pathname, ...rest],
      {
        stdio: "inherit",
      },
    );
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${script} exited with ${code}`)),
    );
  });
}

const run = scenarios[scenario];
if (!run) {
  console.error(`unknown scenario '${scenario}'; one of: ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
await run();
