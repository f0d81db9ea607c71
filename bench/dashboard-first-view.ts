/**
 * How soon the dashboard is usable: a 3-node loopback cluster, then Chromium opens the page with an
 * empty cache each round and waits for the topology to show all three nodes. Prints the median and
 * the slowest time from navigation start, and what the page transferred (gzip as served).
 *
 *   node --import tsx bench/dashboard-first-view.ts [--rounds 10]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { HerdClient } from "../src/client/herd-client.js";
import { buildEngineForMachine } from "../src/main.js";
import { findFreePort } from "../src/util/free-port.js";
import { launchChromium } from "../test/support/browser.js";
import { median, until } from "./streaming-sample.js";

const { values: options } = parseArgs({ options: { rounds: { type: "string", default: "10" } } });
const root = new URL("..", import.meta.url).pathname;
const children: ChildProcess[] = [];

async function startNode(engineDirectory: string, home: string, name: string, token?: string) {
  const port = await findFreePort();
  const args = ["--import", "tsx", join(root, "src/cli/main.ts"), "start", "--port", String(port)];
  args.push("--cluster-port", String(await findFreePort()), "--home", home, "--name", name, "--no-discovery");
  if (token) args.push("--join", token);
  children.push(
    spawn(process.execPath, args, {
      env: { ...process.env, HERD_ENGINE_DIR: engineDirectory, HERD_LOG_LEVEL: "warn" },
      stdio: "ignore",
    }),
  );
  const client = new HerdClient({ baseUrl: `http://127.0.0.1:${port}` });
  await until(() => client.node());
  return client;
}

async function main(): Promise<void> {
  const engine = await buildEngineForMachine({}, {});
  const base = await mkdtemp(join(tmpdir(), "herd-bench-dashboard-"));
  const browser = await launchChromium();
  try {
    const first = await startNode(engine.directory, join(base, "a"), "a");
    const token = await first.joinToken();
    await startNode(engine.directory, join(base, "b"), "b", token);
    await startNode(engine.directory, join(base, "c"), "c", token);
    await until(async () => {
      if ((await first.cluster()).links.length < 6) throw new Error("links not measured yet");
    }, 60_000);

    const times: number[] = [];
    for (let round = 0; round < Number(options.rounds); round++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(first.baseUrl, { waitUntil: "commit" });
      await page.waitForFunction(() => document.querySelectorAll("[data-testid=node]").length === 3, null, {
        polling: "raf",
      });
      times.push(await page.evaluate(() => performance.now()));
      await context.close();
    }
    const assets = join(root, "dashboard/dist/assets");
    let gzipped = 0;
    for (const file of await readdir(assets)) gzipped += gzipSync(await readFile(join(assets, file))).length;
    const sorted = [...times].sort((x, y) => x - y);
    console.log(
      `first view with 3 nodes: median ${median(times).toFixed(0)} ms, slowest ${sorted.at(-1)!.toFixed(0)} ms over ${times.length} cold loads`,
    );
    console.log(`bundle: ${(gzipped / 1024).toFixed(1)} KiB gzipped (JavaScript and CSS)`);
  } finally {
    await browser.close();
    for (const child of children) child.kill("SIGINT");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await rm(base, { recursive: true, force: true });
  }
}

await main();
