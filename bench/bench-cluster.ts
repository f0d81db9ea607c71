import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HerdClient } from "../src/client/herd-client.js";
import { buildEngineForMachine } from "../src/main.js";
import type { EngineInstall } from "../src/protocol/engine.js";
import type { SynthModelRequest } from "../src/protocol/management.js";
import { findFreePort } from "../src/util/free-port.js";
import { until } from "./streaming-sample.js";

const root = new URL("..", import.meta.url).pathname;

export interface BenchNode {
  name: string;
  home: string;
  client: HerdClient;
  /** The node's process, for its CPU time. */
  pid: number;
}

export interface BenchCluster {
  nodes: BenchNode[];
  /** The engine every node runs (built or reused from the cache). */
  engine: EngineInstall;
  stop(): Promise<void>;
}

export interface BenchClusterOptions {
  env?: Record<string, string>;
  /** Added to the environment of the node at `index` only. */
  nodeEnv?: (index: number) => Record<string, string>;
  nodeArguments?: string[];
  /** Added to every node's `herd start` command line. */
  herdArguments?: string[];
  /**
   * Each node's `--engine-threads`: its engines and its self-measure on that many threads, so that
   * the plan predicts what runs. Default: the engines' own.
   */
  engineThreads?: number;
  sourceRoot?: string;
  /** A network namespace per node (`ip netns exec`), reached at its address; default: loopback. */
  hosts?: Array<{ name: string; address: string }>;
}

/**
 * Herd nodes for one benchmark, each with its own HERD_HOME, joined into one cluster; on loopback,
 * or one in each of `hosts` (serving on all its addresses, without an API key, as on a lab LAN);
 * `env` is added to each node's environment and `nodeArguments` to its node command line (e.g.
 * `--cpu-prof`, which NODE_OPTIONS may not carry); `sourceRoot` runs herd from another checkout (to
 * compare two versions in one run). `stop()` removes them all.
 */
export async function startBenchCluster(
  count: number,
  options: BenchClusterOptions = {},
): Promise<BenchCluster> {
  const engine = await buildEngineForMachine({}, {});
  const base = await mkdtemp(join(tmpdir(), "herd-bench-"));
  const children: ChildProcess[] = [];
  const stop = async () => {
    // A Ctrl-C reaches the nodes too: one may be gone already, and its exit event with it.
    const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
    for (const child of running) child.kill("SIGINT");
    await Promise.all(running.map((child) => new Promise((resolve) => child.once("exit", resolve))));
    await rm(base, { recursive: true, force: true });
  };
  try {
    const nodes: BenchNode[] = [];
    let token: string | undefined;
    for (let index = 0; index < count; index++) {
      const host = options.hosts?.[index];
      // A namespace of its own has every port free; the root namespace's free ports say nothing of it.
      const port = host ? 52415 : await findFreePort();
      const name = String.fromCharCode(97 + index);
      const home = join(base, name);
      const args = [
        ...(options.nodeArguments ?? []),
        "--import",
        "tsx",
        join(options.sourceRoot ?? root, "src/cli/main.ts"),
      ];
      args.push("start", "--port", String(port));
      args.push(
        "--cluster-port",
        String(host ? 52416 : await findFreePort()),
        "--home",
        home,
        "--name",
        name,
        "--no-discovery",
      );
      if (token) args.push("--join", token);
      args.push(...(options.herdArguments ?? []));
      if (options.engineThreads) args.push("--engine-threads", String(options.engineThreads));
      if (host) args.push("--host", "0.0.0.0", "--insecure-no-auth");
      const command = host
        ? ["ip", ["netns", "exec", host.name, process.execPath, ...args]]
        : [process.execPath, args];
      const child = spawn(command[0] as string, command[1] as string[], {
        env: {
          ...process.env,
          HERD_ENGINE_DIR: engine.directory,
          HERD_LOG_LEVEL: "warn",
          ...options.env,
          ...options.nodeEnv?.(index),
        },
        stdio: ["ignore", "ignore", "inherit"],
      });
      children.push(child);
      const client = new HerdClient({ baseUrl: `http://${host?.address ?? "127.0.0.1"}:${port}` });
      await until(() => client.node());
      token ??= await client.joinToken();
      nodes.push({ name, home, client, pid: child.pid! });
    }
    await until(async () => {
      const view = await nodes[0]!.client.cluster();
      if (view.nodes.filter((node) => node.state === "alive").length < count) throw new Error("joining");
    });
    return { nodes, engine, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A synthetic Llama model of `layers` × `embedding` (heads of 64), with llama.cpp's 32000-token vocabulary. */
export function synthShape(
  name: string,
  layers: number,
  embedding: number,
  extra: Partial<SynthModelRequest> = {},
): SynthModelRequest {
  return {
    name,
    layers,
    embedding,
    feedForward: Math.ceil((embedding * 8) / 3 / 32) * 32,
    heads: embedding / 64,
    kvHeads: embedding / 64,
    type: "f16",
    ...extra,
  };
}

/** The flags that shape a benchmark's synthetic model (`--layers 8 --embedding 1024 --ff 2816 ...`). */
export interface ShapeFlags {
  layers: string;
  embedding: string;
  ff: string;
  heads: string;
  "kv-heads": string;
  type: string;
}

/** The synthetic model `bench` of the shape the flags give. */
export function benchShape(flags: ShapeFlags): SynthModelRequest {
  return {
    name: "bench",
    layers: Number(flags.layers),
    embedding: Number(flags.embedding),
    feedForward: Number(flags.ff),
    heads: Number(flags.heads),
    kvHeads: Number(flags["kv-heads"]),
    type: flags.type as SynthModelRequest["type"],
  };
}

/**
 * Runs a benchmark with a list of clean-ups (namespaces, nodes, folders) that run in reverse when it
 * ends, fails, or Ctrl-C stops it.
 */
export async function withCleanups(body: (cleanups: Array<() => Promise<unknown>>) => Promise<void>) {
  const cleanups: Array<() => Promise<unknown>> = [];
  let cleaning: Promise<void> | undefined;
  const cleanUp = () => {
    cleaning ??= (async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => console.error(error));
    })();
    return cleaning;
  };
  const interrupted = () => {
    console.error("\ninterrupted: removing the nodes, engines and namespaces");
    void cleanUp().then(() => process.exit(130));
  };
  process.once("SIGINT", interrupted).once("SIGTERM", interrupted);
  try {
    await body(cleanups);
  } finally {
    await cleanUp();
    process.off("SIGINT", interrupted).off("SIGTERM", interrupted);
  }
}

/** Waits until every instance of `model` in the desired state is READY. */
export async function untilReady(client: HerdClient, model: string): Promise<void> {
  await until(async () => {
    const view = await client.cluster();
    const wanted = view.desired.instances.filter((instance) => instance.model === model);
    const ready = view.instances.filter((summary) => summary.model === model && summary.state === "READY");
    if (wanted.length === 0 || ready.length < wanted.length) throw new Error(`${model} is not READY yet`);
  }, 900_000);
}

/** The key of an instance's engine on `node`, to measure the engine directly. */
export async function engineKey(node: BenchNode, instanceId: string): Promise<string> {
  return (await readFile(join(node.home, "run", `${instanceId}.key`), "utf8")).trim();
}

/** Writes `bench-results/<scenario>-<time>.json` and `.md`; returns the stem. */
export async function writeResults(scenario: string, data: unknown, markdown: string): Promise<string> {
  const directory = join(root, "bench-results");
  await mkdir(directory, { recursive: true });
  const stem = join(directory, `${scenario}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  await writeFile(`${stem}.json`, `${JSON.stringify(data, null, 2)}\n`);
  await writeFile(`${stem}.md`, `${markdown}\n`);
  return stem;
}

/**
 * Until every node announces its engine's self-measure, as a cluster that has run a while has: the
 * planner then predicts from what each machine measured, not from the chip table's guess.
 */
export async function untilCalibrated(client: HerdClient): Promise<void> {
  await until(async () => {
    const { nodes } = await client.cluster();
    if (nodes.some((node) => !node.profile?.calibration?.measured))
      throw new Error("engines not measured yet");
  }, 300_000);
}

/**
 * Starts a bare Node.js HTTP hop (bench/bare-hop.ts) in front of `engineUrl` on `address:port`,
 * inside network namespace `netns` when given; resolves once it listens. `process.kill()` stops it.
 */
export async function startBareHop(
  engineUrl: string,
  options: { port: number; key?: string; address?: string; netns?: string },
): Promise<{ url: string; process: ChildProcess }> {
  const address = options.address ?? "127.0.0.1";
  const script = join(root, "bench/bare-hop.ts");
  const command = [process.execPath, "--import", "tsx", script, String(options.port), engineUrl];
  command.push(options.key ?? "-", address);
  const [program, ...args] = options.netns ? ["ip", "netns", "exec", options.netns, ...command] : command;
  const child = spawn(program!, args, { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    child.stdout!.once("data", resolve);
    child.once("exit", (code) => reject(new Error(`the bare hop exited with ${code}`)));
  });
  return { url: `http://${address}:${options.port}`, process: child };
}
