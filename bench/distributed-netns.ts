/**
 * `bench:distributed --netns`: the split of `bench:distributed` across three network namespaces on
 * one bridge, each link shaped to 1 Gbit/s (`tc tbf`, both ways) and each RPC message delayed by
 * 0.3 ms on its way from the head (a latency proxy in front of each `--rpc` endpoint: this kernel has
 * no netem), as a home LAN. Each herd and its engines, and each hand-started ggml-rpc-server, live in
 * their node's namespace with their own network stack; the CPU and memory are still this machine's.
 * Needs root. Everything it creates is removed when it ends, on an error or on Ctrl-C too.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmod, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { defaultEngineThreads } from "../src/engine/engine-threads.js";
import type { InstancePlan } from "../src/protocol/cluster.js";
import type { SynthModelRequest } from "../src/protocol/management.js";
import { distributedArgs } from "../src/worker/distributed-args.js";
import { createTestNetwork, type TestNetwork } from "../test/support/netns.js";
import {
  startBareHop,
  startBenchCluster,
  untilCalibrated,
  withCleanups,
  writeResults,
} from "./bench-cluster.js";
import { compare, compareAll, loadTimed, type SplitOptions } from "./split-measurements.js";
import { until } from "./streaming-sample.js";

const root = new URL("..", import.meta.url).pathname;
/** The LAN each scenario models: a gigabit link and a round trip 0.3 ms longer than the veth's own. */
export const lan = { rate: "1gbit", rpcDelayMs: 0.3 };
const rawPorts = { rpcServer: 50052, llamaServer: 8090, bareHop: 8091 };
/** A second split by hand beside the first. */
const secondRawPorts = { ...rawPorts, rpcServer: 50053, llamaServer: 8092 };

export type Host = TestNetwork["hosts"][number];

export async function runNetnsScenario(shape: SynthModelRequest, split: SplitOptions): Promise<void> {
  const loadBefore = loadavg();
  await withCleanups(async (cleanups) => {
    const network = await createTestNetwork(3);
    cleanups.push(() => network.dispose());
    await shapeLinks(network.hosts);
    const engineDirectory = await delayingEngineDirectory();
    cleanups.push(() => rm(engineDirectory.directory, { recursive: true, force: true }));
    const cluster = await startBenchCluster(3, {
      hosts: network.hosts,
      env: { HERD_ENGINE_DIR: engineDirectory.directory, ...engineDirectory.env },
      engineThreads: split.threads,
    });
    cleanups.push(() => cluster.stop());
    const { client } = cluster.nodes[0]!;
    await until(async () => {
      if ((await client.cluster()).links.length < 6) throw new Error("links not measured yet");
    }, 60_000);
    // The second round of link measurements, taken once the join has settled, is the one to plan with;
    // and the engines' self-measures must not run beside the rounds.
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    await untilCalibrated(client);
    await client.synthModel(shape);
    const model = (await client.models()).find((candidate) => candidate.name === "bench")!;
    console.log(
      `model: ${shape.layers} x ${shape.embedding} ${shape.type}, ${(model.sizeBytes / 2 ** 20).toFixed(0)} MiB, engine threads: ${split.threads ?? "default"}`,
    );
    console.log(
      `3 namespaces on one bridge, ${lan.rate} links, +${lan.rpcDelayMs} ms per RPC round trip; one CPU (load average ${loadBefore.map((value) => value.toFixed(2)).join(" ")})\n`,
    );
    const hostOf = async (nodeId: string) => {
      const node = (await client.cluster()).nodes.find((entry) => entry.id === nodeId)!;
      return network.hosts[node.name.charCodeAt(0) - 97]!;
    };
    const rows = [];
    for (const count of [2, 3]) {
      await loadTimed(client, count, "tunnel", split);
      const plan = (await client.cluster()).desired.instances[0]!.plan!;
      const raw = await startRawSplit(plan, hostOf, model.file, engineDirectory, split.threads);
      cleanups.push(raw.stop);
      const [tunnel, raw1] = await compare(client.baseUrl, raw.url, split);
      await client.unload("bench");
      await loadTimed(client, count, "direct", split);
      const [direct, raw2] = await compare(client.baseUrl, raw.url, split);
      await client.unload("bench");
      // Where herd keeps the output matrix on the head, the same split by hand with it where llama.cpp
      // puts it (the last shard), beside the first, in the same rounds: what the placement gains.
      let placement: { herds: number; llamaCpps: number } | undefined;
      if (plan.outputOnHead) {
        const llamaCpps = await startRawSplit(
          { ...plan, outputOnHead: false },
          hostOf,
          model.file,
          engineDirectory,
          split.threads,
          undefined,
          secondRawPorts,
        );
        cleanups.push(llamaCpps.stop);
        const [herds, llamaCppsRate] = await compareAll([raw.url, llamaCpps.url], split);
        await llamaCpps.stop();
        placement = { herds: herds!, llamaCpps: llamaCppsRate! };
      }
      await raw.stop();
      rows.push({
        nodes: count,
        rawTunnelRound: raw1,
        tunnel,
        tunnelRatio: tunnel / raw1,
        rawDirectRound: raw2,
        direct,
        directRatio: direct / raw2,
        predicted: plan.predictedDecodeTokensPerSecond ?? 0,
        // The prediction's parts, ms per token: the head's own (corrected), and the RPC paths' before corrections.
        predictedHeadMs: (plan.predictedHeadSeconds ?? 0) * 1000,
        predictedRemoteMs: (plan.uncorrectedRemoteSeconds ?? 0) * 1000,
        outputOnHead: plan.outputOnHead === true,
        placement,
      });
    }
    const placed = rows.filter((row) => row.placement);
    if (placed.length > 0) {
      console.log(
        "\nthe output matrix on the head's CPU (herd's plan) against on the last shard (llama.cpp's own placement), both run by hand:",
      );
      for (const row of placed)
        console.log(
          `  ${row.nodes} nodes: ${row.placement!.herds.toFixed(2)} against ${row.placement!.llamaCpps.toFixed(2)} tok/s (${(row.placement!.herds / row.placement!.llamaCpps).toFixed(3)}x)`,
        );
      console.log("");
    }
    const loadAfter = loadavg();
    const header = ["nodes", "raw tok/s", "tunnel tok/s", "tunnel / raw", "raw tok/s", "direct tok/s"];
    header.push("direct / raw", "predicted tok/s");
    const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
    for (const row of rows) {
      const cells = [
        row.nodes,
        row.rawTunnelRound.toFixed(2),
        row.tunnel.toFixed(2),
        row.tunnelRatio.toFixed(3),
      ];
      cells.push(row.rawDirectRound.toFixed(2), row.direct.toFixed(2), row.directRatio.toFixed(3));
      lines.push(`| ${[...cells, row.predicted.toFixed(2)].join(" | ")} |`);
    }
    lines.push(
      "",
      `load average before ${loadBefore.map((value) => value.toFixed(2)).join(" ")}, after ${loadAfter.map((value) => value.toFixed(2)).join(" ")}`,
    );
    const markdown = lines.join("\n");
    console.log(markdown);
    const stem = await writeResults(
      "distributed-netns",
      { lan, shape, split, loadAverage: { before: loadBefore, after: loadAfter }, rows },
      markdown,
    );
    console.log(`\nwritten to ${stem}.json`);
  });
}

/** 1 Gbit/s each way on every host's link: its egress inside the namespace, and the bridge's towards it. */
export async function shapeLinks(hosts: Host[]): Promise<void> {
  // A burst of 1 ms at the rate (the kernel's tick); 5 ms of queue before packets drop.
  const tbf = ["root", "tbf", "rate", lan.rate, "burst", "128kb", "latency", "5ms"];
  for (const host of hosts) {
    await run("ip", ["netns", "exec", host.name, "tc", "qdisc", "add", "dev", host.interfaceName, ...tbf]);
    await run("tc", ["qdisc", "add", "dev", host.bridgePort, ...tbf]);
  }
}

/**
 * An engine folder whose llama-server is `delayed-llama-server.ts` in front of the real one, for
 * herd's heads and the raw split alike; `env` is what that stand-in needs. RPC endpoints at the
 * `undelayed` addresses (a cable's) are reached without the LAN's added round trip.
 */
export async function delayingEngineDirectory(undelayed: string[] = []) {
  const engine = await (await import("../src/main.js")).buildEngineForMachine({}, {});
  const directory = await mkdtemp(join(tmpdir(), "herd-bench-engine-"));
  const loader = import.meta.resolve("tsx");
  const script = join(root, "bench/delayed-llama-server.ts");
  const llamaServer = join(directory, "llama-server");
  await writeFile(
    llamaServer,
    `#!/bin/sh\nexec "${process.execPath}" --import "${loader}" "${script}" "$@"\n`,
  );
  await chmod(llamaServer, 0o755);
  await symlink(engine.rpcServer, join(directory, "ggml-rpc-server"));
  const env = {
    HERD_BENCH_LLAMA_SERVER: engine.llamaServer,
    HERD_BENCH_RPC_DELAY_MS: String(lan.rpcDelayMs),
    HERD_BENCH_RPC_UNDELAYED: undelayed.join(","),
  };
  return { directory, rpcServer: engine.rpcServer, llamaServer, env };
}

/**
 * The split of `plan` run by hand in the same namespaces: a ggml-rpc-server in each `rpcNodes`
 * host's namespace, and llama-server (through the same latency proxies) in the head's.
 */
export async function startRawSplit(
  plan: InstancePlan,
  hostOf: (nodeId: string) => Promise<Host>,
  modelFile: string,
  engine: Awaited<ReturnType<typeof delayingEngineDirectory>>,
  threads: number | undefined,
  /** The address each shard's server binds and the head dials; default: the host's LAN address. */
  addressOf: (host: Host) => string = (host) => host.address,
  ports: { rpcServer: number; llamaServer: number } = rawPorts,
): Promise<{ url: string; stop(): Promise<void> }> {
  const processes: ChildProcess[] = [];
  const stop = async () => {
    const running = processes.filter((child) => child.exitCode === null && child.signalCode === null);
    for (const child of running) child.kill("SIGKILL");
    await Promise.all(running.map((child) => new Promise((resolve) => child.once("exit", resolve))));
  };
  const threadArgs = threads ? ["--threads", String(threads)] : [];
  // herd gives its rpc-servers llama-server's default where no threads are asked for.
  const rpcThreads = threads ?? (await defaultEngineThreads());
  const rpcThreadArgs = rpcThreads ? ["--threads", String(rpcThreads)] : [];
  try {
    const endpoints: string[] = [];
    for (const node of plan.rpcNodes) {
      const host = await hostOf(node);
      const args = ["--host", addressOf(host), "--port", String(ports.rpcServer), ...rpcThreadArgs];
      processes.push(inNamespace(host, engine.rpcServer, args, {}));
      endpoints.push(`${addressOf(host)}:${ports.rpcServer}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const head = await hostOf(plan.head);
    const args = ["--model", modelFile, "--alias", "bench", "--host", head.address];
    args.push("--port", String(ports.llamaServer), "--ctx-size", "1024", "--parallel", "1");
    args.push(...distributedArgs(plan, endpoints), ...threadArgs);
    processes.push(inNamespace(head, engine.llamaServer, args, engine.env));
    const url = `http://${head.address}:${ports.llamaServer}`;
    await until(async () => {
      if ((await fetch(`${url}/health`)).status !== 200) throw new Error("loading");
    }, 600_000);
    return { url, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The bare Node.js hop in `host`'s namespace, on its LAN address, in front of `engineUrl`. */
export function startBareHopOn(host: Host, engineUrl: string): ReturnType<typeof startBareHop> {
  return startBareHop(engineUrl, { port: rawPorts.bareHop, address: host.address, netns: host.name });
}

function inNamespace(host: Host, command: string, args: string[], env: Record<string, string>): ChildProcess {
  return spawn("ip", ["netns", "exec", host.name, command, ...args], {
    env: { ...process.env, ...env },
    stdio: "ignore",
  });
}

async function run(command: string, args: string[]): Promise<void> {
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "inherit"] });
  const code = await new Promise((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${code}`);
}
