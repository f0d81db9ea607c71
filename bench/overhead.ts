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
 * machine whose cores the engine keeps busy that is what the extra hop costs: the node's CPU time
 * while it streamed, less what it spends idle (heartbeats, engine probes) over as long, measured
 * while the client talks to the engine directly.
 *
 *   npm run bench -- overhead --api chat            # /v1/chat/completions instead of /v1/completions
 *   npm run bench -- overhead --profile /tmp/prof   # the node's CPU profile (node --cpu-prof), on exit
 *   npm run bench -- overhead --baseline ../main    # also a node of another source tree, same rounds
 *   npm run bench -- overhead --compare="--failover-timeout 0"   # also a node started with these flags
 *   npm run bench -- overhead --floor               # also a bare Node.js hop in front of the same engine,
 *                                                   # and the engine asked for token ids as herd asks it
 *
 * Each round also sends herd (and with `--floor` the bare hop) a reply of four tokens. From the CPU
 * time of the short and the long replies the last table splits each hop's cost into what a request
 * costs whatever its length (reading and routing it, the engine connection, the log line, the
 * metrics) and what each further token costs, which the CPU per token above mixes in the ratio of
 * `--tokens`.
 *
 * With `--compare`, the last table compares the two nodes of this tree: the ratio of their decode
 * rates through herd and the difference of their CPU time per token (e.g. what carrying token ids
 * for stream continuation costs, against a node that does not continue replies).
 */
import type { ChildProcess } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { HerdClient } from "../src/client/herd-client.js";
import { tokenIdFields } from "../src/inference/continuation-request.js";
import { findFreePort } from "../src/util/free-port.js";
import { type BenchCluster, startBareHop, startBenchCluster } from "./bench-cluster.js";
import { median, type StreamingSample, streamingSample, until } from "./streaming-sample.js";

const { values: options } = parseArgs({
  options: {
    rounds: { type: "string", default: "12" },
    tokens: { type: "string", default: "128" },
    models: { type: "string", default: "stories260K,synth-12x768" },
    threads: { type: "string" },
    api: { type: "string", default: "completions" },
    profile: { type: "string" },
    baseline: { type: "string" },
    compare: { type: "string" },
    floor: { type: "boolean", default: false },
  },
});
if (options.api !== "completions" && options.api !== "chat")
  throw new Error(`--api is completions or chat, not '${options.api}'`);
const rounds = Number(options.rounds);
const maxTokens = Number(options.tokens);
const threads = options.threads ? Number(options.threads) : undefined;
const root = new URL("..", import.meta.url).pathname;

type Sample = StreamingSample;
type Path = "herd" | "direct" | "bare" | "ids" | "herdShort" | "bareShort";
/**
 * The short replies' length: a few tokens, so that a sample still has two with text (a token can
 * carry only part of a character); at temperature 0 each model's reply is the same every round.
 */
const shortTokens = 4;

/** One node under test: the herd of a source tree and the engine it started. */
interface Subject {
  label: string;
  cluster: BenchCluster;
  herdUrl: string;
  directUrl: string;
  key: string;
  samples: Record<Path, Sample[]>;
  /** The node's CPU time (the bare hop's on its path) and the wall time while each path streamed. */
  spent: Record<Path, { cpu: number; wall: number }>;
  /** With `--floor`, for this tree: the bare hop in front of the same engine. */
  bare?: { url: string; process: ChildProcess };
}

async function main(): Promise<void> {
  const nodeArguments = options.profile ? ["--cpu-prof", `--cpu-prof-dir=${options.profile}`] : [];
  // A node calibrating its engine in the background (on a fresh home) would load the machine
  // under one subject's rounds and not the other's.
  const env = { HERD_CALIBRATE: "off" };
  const clusters = [{ label: "this tree", cluster: await startBenchCluster(1, { nodeArguments, env }) }];
  try {
    if (options.baseline) {
      const cluster = await startBenchCluster(1, { nodeArguments, env, sourceRoot: options.baseline });
      clusters.push({ label: `baseline ${options.baseline}`, cluster });
    }
    if (options.compare) {
      const herdArguments = options.compare.split(/\s+/).filter(Boolean);
      const cluster = await startBenchCluster(1, { nodeArguments, env, herdArguments });
      clusters.push({ label: `with ${options.compare}`, cluster });
    }
    console.log(
      `engine ${clusters[0]!.cluster.engine.version}; ${rounds} rounds of ${maxTokens} tokens per model and path; engine threads ${threads ?? "default"}; /v1/${options.api === "chat" ? "chat/" : ""}completions\n`,
    );
    const rows: string[][] = [];
    const splitRows: string[][] = [];
    const results: Array<{ model: string; label: string; herdTps: number; cpuUsPerToken: number }> = [];
    for (const model of options.models.split(",")) {
      const subjects: Subject[] = [];
      for (const { label, cluster } of clusters) subjects.push(await prepareSubject(label, cluster, model));
      if (options.floor) subjects[0]!.bare = await startSubjectHop(subjects[0]!, model);
      // Every path of every subject once per round, the order turned each round, so that whatever
      // else the machine does falls on all of them alike.
      const turns = subjects.flatMap((subject) =>
        (subject.bare
          ? (["herd", "direct", "bare", "ids", "herdShort", "bareShort"] as const)
          : (["herd", "direct", "herdShort"] as const)
        ).map((path) => ({ subject, path })),
      );
      for (let round = 0; round < rounds; round++) {
        for (let turn = 0; turn < turns.length; turn++) {
          const { subject, path } = turns[(turn + round) % turns.length]!;
          await timed(subject, path, model);
        }
      }
      for (const subject of subjects) {
        const { herd, direct } = subject.samples;
        const { spent } = subject;
        // What the node spends idle over as long as the herd rounds took is not the token path's.
        const idleRate = spent.direct.cpu / spent.direct.wall;
        const idleCpuMs = idleRate * spent.herd.wall;
        const herdCpuMsPerToken = (spent.herd.cpu - idleCpuMs) / (rounds * maxTokens);
        const herdTps = median(herd.map((sample) => sample.decodeTokensPerSecond));
        const directTps = median(direct.map((sample) => sample.decodeTokensPerSecond));
        const directTtft = median(direct.map((sample) => sample.ttftMs));
        results.push({ model, label: subject.label, herdTps, cpuUsPerToken: herdCpuMsPerToken * 1000 });
        /** One row: a path in front of the engine against the engine itself, in the same rounds. */
        const row = (label: string, samples: Sample[], cpuMsPerToken: number, idle: string) => {
          const tps = median(samples.map((sample) => sample.decodeTokensPerSecond));
          const ttft = median(samples.map((sample) => sample.ttftMs));
          // Paired by round (the same round's direct request), so that drift between rounds cancels.
          const ttftDiff = median(samples.map((sample, round) => sample.ttftMs - direct[round]!.ttftMs));
          return [
            model,
            label,
            directTps.toFixed(1),
            tps.toFixed(1),
            (tps / directTps).toFixed(3),
            directTtft.toFixed(2),
            ttft.toFixed(2),
            ttftDiff.toFixed(2),
            Number.isNaN(cpuMsPerToken) ? "n/a" : (cpuMsPerToken * 1000).toFixed(1),
            idle,
          ];
        };
        rows.push(row(subject.label, herd, herdCpuMsPerToken, (idleRate * 100).toFixed(2)));
        splitRows.push([model, subject.label, ...perRequestAndToken(spent.herd, spent.herdShort, idleRate)]);
        if (subject.bare) {
          // The bare hop does nothing between requests: all its CPU time is the token path's.
          rows.push(row("bare Node hop", subject.samples.bare, spent.bare.cpu / (rounds * maxTokens), ""));
          splitRows.push([model, "bare Node hop", ...perRequestAndToken(spent.bare, spent.bareShort, 0)]);
          // The engine itself, asked for the token ids herd asks for to continue a reply: what the
          // ids cost the engine, apart from what herd costs.
          rows.push(row("engine, with token ids", subject.samples.ids, Number.NaN, ""));
          subject.bare.process.kill();
        }
        await subject.cluster.nodes[0]!.client.unload(model);
      }
    }
    printTable(
      [
        "model",
        "herd",
        "direct tok/s",
        "herd tok/s",
        "ratio",
        "direct TTFT ms",
        "herd TTFT ms",
        "TTFT diff ms (paired)",
        "herd CPU µs/token",
        "idle CPU %",
      ],
      rows,
    );
    console.log(
      `\nnode CPU per request and per further token, from replies of ${maxTokens} and of ${shortTokens} tokens in the same rounds:`,
    );
    printTable(["model", "herd", "per request µs", "per further token µs"], splitRows);
    if (options.compare) printComparison(results, `with ${options.compare}`);
  } finally {
    for (const { cluster } of clusters) await cluster.stop();
  }
}

async function prepareSubject(label: string, cluster: BenchCluster, model: string): Promise<Subject> {
  const { client, home } = cluster.nodes[0]!;
  await prepareModel(client, model);
  const [instance] = await client.instances();
  const subject: Subject = {
    label,
    cluster,
    herdUrl: client.baseUrl,
    directUrl: `http://127.0.0.1:${instance!.enginePort!}`,
    key: (await readFile(join(home, "run", `${instance!.id}.key`), "utf8")).trim(),
    samples: { herd: [], direct: [], bare: [], ids: [], herdShort: [], bareShort: [] },
    spent: {
      herd: { cpu: 0, wall: 0 },
      direct: { cpu: 0, wall: 0 },
      bare: { cpu: 0, wall: 0 },
      ids: { cpu: 0, wall: 0 },
      herdShort: { cpu: 0, wall: 0 },
      bareShort: { cpu: 0, wall: 0 },
    },
  };
  // Warm both paths (first requests pay for page faults and allocator growth).
  await measure(subject.herdUrl, model, undefined);
  await measure(subject.directUrl, model, subject.key);
  return subject;
}

/** Starts a bare Node.js hop (bench/bare-hop.ts) in front of the subject's engine, warmed up. */
async function startSubjectHop(subject: Subject, model: string): Promise<NonNullable<Subject["bare"]>> {
  const hop = await startBareHop(subject.directUrl, { port: await findFreePort(), key: subject.key });
  await measure(hop.url, model, undefined);
  return hop;
}

/** One sample of one path, with the CPU time of the process in front of the engine over it. */
async function timed(subject: Subject, path: Path, model: string): Promise<void> {
  const bare = path === "bare" || path === "bareShort";
  const pid = bare ? subject.bare!.process.pid! : subject.cluster.nodes[0]!.pid;
  const short = path === "herdShort" || path === "bareShort" ? { max_tokens: shortTokens } : {};
  const cpuBefore = await processCpuMs(pid);
  const wallBefore = performance.now();
  const sample = await (path === "herd" || path === "herdShort"
    ? measure(subject.herdUrl, model, undefined, short)
    : bare
      ? measure(subject.bare!.url, model, undefined, short)
      : measure(subject.directUrl, model, subject.key, path === "ids" ? tokenIdFields : {}));
  // What the node does once a reply has ended (its log line, closing the engine connection)
  // belongs to that reply, not to the next one.
  await new Promise((resolve) => setTimeout(resolve, 100));
  subject.spent[path].wall += performance.now() - wallBefore;
  subject.spent[path].cpu += (await processCpuMs(pid)) - cpuBefore;
  subject.samples[path].push(sample);
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

/** One streaming completion (or chat) of the benchmark's prompt, prompt cache off. */
function measure(
  baseUrl: string,
  model: string,
  key: string | undefined,
  extra: Record<string, unknown> = {},
): Promise<Sample> {
  const prompt = "Once upon a time, in a small village by the sea, there lived";
  return streamingSample(
    baseUrl,
    {
      model,
      ...(options.api === "chat" ? { messages: [{ role: "user", content: prompt }] } : { prompt }),
      max_tokens: maxTokens,
      cache_prompt: false,
      ...extra,
    },
    key,
  );
}

/**
 * A hop's CPU time per request and per further token, net of what its process spends idle at
 * `idleRate` (CPU ms per wall ms) over as long: the long and the short replies of the same rounds
 * give two points of a line whose slope is the cost of a token and whose value at no tokens is the
 * cost of the request.
 */
function perRequestAndToken(
  long: { cpu: number; wall: number },
  short: { cpu: number; wall: number },
  idleRate: number,
): [string, string] {
  const longMs = (long.cpu - idleRate * long.wall) / rounds;
  const shortMs = (short.cpu - idleRate * short.wall) / rounds;
  const tokenMs = (longMs - shortMs) / (maxTokens - shortTokens);
  const requestMs = shortMs - shortTokens * tokenMs;
  return [(requestMs * 1000).toFixed(0), (tokenMs * 1000).toFixed(1)];
}

/**
 * CPU time of a process so far, all its threads, from the scheduler's nanosecond counters
 * (`/proc/<pid>/task/<tid>/schedstat`); /proc's `stat` counts in 10 ms ticks, too coarse for one
 * round. NaN where there is no /proc.
 */
async function processCpuMs(pid: number): Promise<number> {
  try {
    let nanoseconds = 0;
    for (const task of await readdir(`/proc/${pid}/task`)) {
      const text = await readFile(`/proc/${pid}/task/${task}/schedstat`, "utf8").catch(() => "0");
      nanoseconds += Number(text.split(" ")[0]);
    }
    return nanoseconds / 1e6;
  } catch {
    return Number.NaN;
  }
}

/**
 * This tree's node against the node started with `--compare`'s flags, per model: their decode
 * rates through herd (same rounds, alternated) and the CPU time per token one spends more than the
 * other, also as a share of the time a token takes.
 */
function printComparison(
  results: Array<{ model: string; label: string; herdTps: number; cpuUsPerToken: number }>,
  compared: string,
): void {
  const rows: string[][] = [];
  for (const model of new Set(results.map((result) => result.model))) {
    const mine = results.find((result) => result.model === model && result.label === "this tree");
    const other = results.find((result) => result.model === model && result.label === compared);
    if (!mine || !other) continue;
    const extraCpuUs = mine.cpuUsPerToken - other.cpuUsPerToken;
    rows.push([
      model,
      other.herdTps.toFixed(1),
      mine.herdTps.toFixed(1),
      (mine.herdTps / other.herdTps).toFixed(3),
      extraCpuUs.toFixed(1),
      `${((extraCpuUs / (1e6 / mine.herdTps)) * 100).toFixed(2)}%`,
    ]);
  }
  console.log(`\nthis tree's node against the node ${compared}:`);
  printTable(
    ["model", `tok/s ${compared}`, "tok/s this tree", "ratio", "extra CPU µs/token", "of a token's time"],
    rows,
  );
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
