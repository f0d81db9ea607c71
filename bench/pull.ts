/**
 * Pull throughput: a large GGUF (header of a real model shape, zero weights, written sparse) served
 * by the local test hub in its own process, pulled through a herd node (list, ranged download,
 * sha256, registration) against a plain `curl -L` of the same file, alternated. Prints each round
 * and the ratio of medians, and the same against curl followed by `sha256sum` (the download verified
 * by hand, as herd verifies it).
 *
 *   npm run bench:pull                      # about 1 GiB, 3 rounds
 *   npm run bench:pull -- --layers 40 --rounds 5
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { engineVocabPath } from "../src/engine/engine-source.js";
import { buildEngineForMachine, loadConfig } from "../src/main.js";
import { planGgufFile } from "../src/models/gguf-writer.js";
import { sha256OfFile } from "../src/models/hash-file.js";
import { synthModelContent } from "../src/models/synth-model.js";
import { startBenchCluster } from "./bench-cluster.js";
import { median } from "./streaming-sample.js";

const { values: options } = parseArgs({
  options: {
    layers: { type: "string", default: "20" },
    rounds: { type: "string", default: "3" },
  },
});
const root = new URL("..", import.meta.url).pathname;
const children: ChildProcess[] = [];
const stops: Array<() => Promise<void>> = [];

async function main(): Promise<void> {
  // The engine's source holds the vocabulary the synthetic model uses.
  await buildEngineForMachine({}, {});
  const base = await mkdtemp(join(tmpdir(), "herd-bench-pull-"));
  try {
    const file = join(base, "big-F16.gguf");
    const { content } = await synthModelContent({
      vocabPath: await engineVocabPath(loadConfig().engineCache),
      layerCount: Number(options.layers),
      embeddingLength: 2048,
      feedForwardLength: 5632,
      headCount: 32,
      weightType: "f16",
    });
    const plan = planGgufFile(content);
    const handle = await open(file, "w");
    await handle.write(plan.header, 0, plan.header.length, 0);
    await handle.truncate(plan.totalBytes);
    await handle.close();
    const sha256 = await sha256OfFile(file);
    const size = plan.totalBytes;
    console.log(`file: ${(size / 2 ** 30).toFixed(2)} GiB (sparse), sha256 ${sha256.slice(0, 12)}…`);

    const hub = spawn(process.execPath, ["--import", "tsx", join(root, "bench/pull-hub.ts"), file, sha256], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(hub);
    const { endpoint } = JSON.parse(
      await new Promise<string>((resolve) => hub.stdout!.once("data", (data) => resolve(String(data)))),
    ) as { endpoint: string };

    const cluster = await startBenchCluster(1, { env: { HF_ENDPOINT: endpoint } });
    stops.push(cluster.stop);
    const { client } = cluster.nodes[0]!;

    const curlTimes: number[] = [];
    const herdTimes: number[] = [];
    const verifiedTimes: number[] = [];
    const url = `${endpoint}/bench/big-GGUF/resolve/main/big-F16.gguf`;
    for (let round = 0; round < Number(options.rounds); round++) {
      const target = join(base, "curl.out");
      let started = performance.now();
      await run("curl", ["-sS", "-L", "-o", target, url]);
      curlTimes.push((performance.now() - started) / 1000);
      await run("sha256sum", [target], "ignore");
      verifiedTimes.push((performance.now() - started) / 1000);
      await rm(target, { force: true });

      started = performance.now();
      await client.pullModel({ ref: "bench/big-GGUF", name: "big" });
      herdTimes.push((performance.now() - started) / 1000);
      await client.removeModel("big");
      const gib = size / 2 ** 30;
      console.log(
        `round ${round + 1}: curl ${curlTimes.at(-1)!.toFixed(2)} s (${(gib / curlTimes.at(-1)!).toFixed(2)} GiB/s; with sha256sum ${verifiedTimes.at(-1)!.toFixed(2)} s), herd pull ${herdTimes.at(-1)!.toFixed(2)} s (${(gib / herdTimes.at(-1)!).toFixed(2)} GiB/s)`,
      );
    }
    const ratio = median(herdTimes) / median(curlTimes);
    console.log(
      `\nmedian: curl ${median(curlTimes).toFixed(2)} s, herd pull ${median(herdTimes).toFixed(2)} s (download, sha256, register): herd takes ${ratio.toFixed(2)}x curl's time (target: within 2x)`,
    );
    console.log(
      `curl then sha256sum ${median(verifiedTimes).toFixed(2)} s: herd takes ${(median(herdTimes) / median(verifiedTimes)).toFixed(2)}x the time of the download verified by hand`,
    );
  } finally {
    for (const stop of stops) await stop();
    for (const child of children) child.kill("SIGTERM");
    await rm(base, { recursive: true, force: true });
  }
}

function run(command: string, args: string[], stdout: "inherit" | "ignore" = "inherit"): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", stdout, "inherit"] });
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`)),
    );
  });
}

await main();
