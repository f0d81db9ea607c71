/**
 * How much herd's API costs on top of llama-server: the same streaming requests through herd and
 * straight to the llama-server herd started, alternated so drift hits both alike, with prompt
 * caching off so neither side inherits the other's cache. Prints time to first token and decode
 * tokens/s of each, and their ratio.
 *
 *   npm run bench                         # stories260K and a synthetic 12 x 768 f16 model
 *   npm run bench -- --rounds 20 --tokens 256 --threads 1
 *
 * Also reports the CPU time herd's node process used per generated token (Linux), since on a
 * machine whose cores the engine keeps busy that is what the extra hop costs.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { HerdClient } from "../src/client/herd-client.js";
import { startBenchCluster } from "./bench-cluster.js";
import { median, type StreamingSample, streamingSample, until } from "./streaming-sample.js";

const { values: options } = parseArgs({
  options: {
    rounds: { type: "string", default: "12" },
    tokens: { type: "string", default: "128" },
    models: { type: "string", default: "stories260K,synth-12x768" },
    threads: { type: "string" },
  },
});
const rounds = Number(options.rounds);
const maxTokens = Number(options.tokens);
const threads = options.threads ? Number(options.threads) : undefined;
const root = new URL("..", import.meta.url).pathname;

type Sample = StreamingSample;

async function main(): Promise<void> {
  const cluster = await startBenchCluster(1);
  const { engine } = cluster;
  const node = cluster.nodes[0]!;
  const { client, home } = node;
  try {
    await until(() => client.node());
    console.log(
      `engine ${engine.version}; ${rounds} rounds of ${maxTokens} tokens per model and path; engine threads ${threads ?? "default"}\n`,
    );
    const rows: string[][] = [];
    for (const model of options.models.split(",")) {
      await prepareModel(client, model);
      const [instance] = await client.instances();
      const enginePort = instance!.enginePort!;
      const key = (await readFile(join(home, "run", `${instance!.id}.key`), "utf8")).trim();
      const herdUrl = client.baseUrl;
      const directUrl = `http://127.0.0.1:${enginePort}`;
      // Warm both paths (first requests pay for page faults and allocator growth).
      await measure(herdUrl, model, undefined);
      await measure(directUrl, model, key);
      const herd: Sample[] = [];
      const direct: Sample[] = [];
      const cpuBefore = await processCpuMs(node.pid);
      for (let round = 0; round < rounds; round++) {
        if (round % 2 === 0) {
          herd.push(await measure(herdUrl, model, undefined));
          direct.push(await measure(directUrl, model, key));
        } else {
          direct.push(await measure(directUrl, model, key));
          herd.push(await measure(herdUrl, model, undefined));
        }
      }
      const herdCpuMsPerToken = ((await processCpuMs(node.pid)) - cpuBefore) / (rounds * maxTokens);
      const herdTps = median(herd.map((s) => s.decodeTokensPerSecond));
      const directTps = median(direct.map((s) => s.decodeTokensPerSecond));
      const herdTtft = median(herd.map((s) => s.ttftMs));
      const directTtft = median(direct.map((s) => s.ttftMs));
      rows.push([
        model,
        directTps.toFixed(1),
        herdTps.toFixed(1),
        (herdTps / directTps).toFixed(3),
        directTtft.toFixed(2),
        herdTtft.toFixed(2),
        (herdTtft - directTtft).toFixed(2),
        Number.isNaN(herdCpuMsPerToken) ? "n/a" : (herdCpuMsPerToken * 1000).toFixed(0),
      ]);
      await client.unload(model);
    }
    printTable(
      [
        "model",
        "direct tok/s",
        "herd tok/s",
        "ratio",
        "direct TTFT ms",
        "herd TTFT ms",
        "TTFT diff ms",
        "herd CPU µs/token",
      ],
      rows,
    );
  } finally {
    await cluster.stop();
  }
}

async function prepareModel(client: HerdClient, model: string): Promise<void> {
  if (model === "stories260K") {
    await client.importModel({ path: join(root, "../shared/models/stories260K-f32.gguf") });
  } else {
    const shape = /^synth-(\d+)x(\d+)$/.exec(model);
    if (!shape)
      throw new Error(`unknown benchmark model '${model}' (use stories260K or synth-<layers>x<embedding>)`);
    const embedding = Number(shape[2]);
    await client.synthModel({
      name: model,
      layers: Number(shape[1]),
      embedding,
      feedForward: Math.ceil((embedding * 8) / 3 / 32) * 32,
      heads: embedding / 64,
      kvHeads: embedding / 64,
      type: "f16",
    });
  }
  await client.load({ model, parallel: 1, contextSize: 2048, threads });
  await until(async () => {
    const [status] = await client.instances();
    if (status?.state !== "READY") throw new Error(status?.reason ?? "no instance");
  }, 600_000);
}

/** One streaming completion of the benchmark's prompt, prompt cache off. */
function measure(baseUrl: string, model: string, key: string | undefined): Promise<Sample> {
  return streamingSample(
    baseUrl,
    {
      model,
      prompt: "Once upon a time, in a small village by the sea, there lived",
      max_tokens: maxTokens,
      cache_prompt: false,
    },
    key,
  );
}

/** User plus system CPU time of a process so far, from /proc (NaN where there is no /proc). */
async function processCpuMs(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padStart(widths[column]!)).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`);
  for (const row of rows) console.log(line(row));
}

await main();
