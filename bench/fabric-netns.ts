/**
 * `bench:distributed --netns --fabric`: two network namespaces on a LAN shaped to 1 Gbit/s with
 * 0.3 ms added to each RPC round trip (as `--netns`), and joined also by a second, unshaped veth pair
 * between only the two of them: the "cable". herd's split of the model over both, under
 * `--rpc-transport auto` (a direct connection over the cable), against llama.cpp run by hand over the
 * same cable, and against a bare Node.js HTTP hop on the head in front of that (the least any Node
 * process in herd's place costs); then the cable taken down and the same split over the LAN
 * (through the tunnel) against llama.cpp by hand over the LAN. Waits for both engines' self-measure
 * first, as on a cluster that has run a while. Prints each decode rate, the ratios, and the planner's prediction for each placement
 * against what was measured: before the load, and once the instance has run (with what the head
 * learnt of that route). Needs root; removes everything it made when it ends.
 */
import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { loadavg } from "node:os";
import { promisify } from "node:util";
import type { HerdClient, PlanView } from "../src/client/herd-client.js";
import type { SynthModelRequest } from "../src/protocol/management.js";
import { addCable, createTestNetwork } from "../test/support/netns.js";
import { startBenchCluster, untilCalibrated, withCleanups, writeResults } from "./bench-cluster.js";
import {
  delayingEngineDirectory,
  type Host,
  lan,
  shapeLinks,
  startBareHopOn,
  startRawSplit,
} from "./distributed-netns.js";
import { compareAll, loadTimed, type SplitOptions, splitRequest } from "./split-measurements.js";
import { until } from "./streaming-sample.js";

const exec = promisify(execFile);

interface Row {
  placement: string;
  herd: number;
  raw: number;
  /** A bare Node.js hop in front of the raw split, on the head: what any Node process there costs. */
  bareHop: number;
  predicted: number;
  route: string;
  /** The planner's reasons for the placement, as `herd plan` gives them just before the load. */
  reasons: string[];
  /** The same plan's prediction once the instance has run: with what the head learnt of its route. */
  learnt: number;
}

export async function runFabricScenario(shape: SynthModelRequest, split: SplitOptions): Promise<void> {
  const loadBefore = loadavg();
  await withCleanups(async (cleanups) => {
    const network = await createTestNetwork(2);
    cleanups.push(() => network.dispose());
    const [first, second] = network.hosts as [Host, Host];
    await shapeLinks(network.hosts);
    const cable = await addCable(first, second);
    const engineDirectory = await delayingEngineDirectory([cable.first, cable.second]);
    cleanups.push(() => rm(engineDirectory.directory, { recursive: true, force: true }));
    const cluster = await startBenchCluster(2, {
      hosts: network.hosts,
      env: { HERD_ENGINE_DIR: engineDirectory.directory, ...engineDirectory.env },
    });
    cleanups.push(() => cluster.stop());
    const { client } = cluster.nodes[0]!;
    await untilPaths(client, 2);
    await untilCalibrated(client);
    await client.synthModel(shape);
    const model = (await client.models()).find((candidate) => candidate.name === "bench")!;
    console.log(
      `model: ${shape.layers} x ${shape.embedding} ${shape.type}, ${(model.sizeBytes / 2 ** 20).toFixed(0)} MiB; LAN ${lan.rate}, +${lan.rpcDelayMs} ms per RPC round trip; cable unshaped\n`,
    );
    const hostOf = async (nodeId: string) => {
      const node = (await client.cluster()).nodes.find((entry) => entry.id === nodeId)!;
      return network.hosts[node.name.charCodeAt(0) - 97]!;
    };
    const cableAddress = (host: Host) => (host === first ? cable.first : cable.second);
    const rows: Row[] = [];
    const measure = async (placement: string, addressOf?: (host: Host) => string) => {
      const { reasons = [] } = await planSplit(client, split);
      await loadTimed(client, 2, "auto", split);
      const plan = (await client.cluster()).desired.instances[0]!.plan!;
      const route = plan.rpcRoutes?.[0];
      const raw = await startRawSplit(plan, hostOf, model.file, engineDirectory, split.threads, addressOf);
      let measured: number[];
      try {
        const hop = await startBareHopOn(await hostOf(plan.head), raw.url);
        try {
          measured = await compareAll([client.baseUrl, raw.url, hop.url], split);
        } finally {
          hop.process.kill();
        }
      } finally {
        await raw.stop();
        await client.unload("bench");
      }
      // Planned again once unloaded (a plan beside the instance would be a replica, on other nodes).
      const after = await planSplit(client, split);
      rows.push({
        placement,
        herd: measured[0]!,
        raw: measured[1]!,
        bareHop: measured[2]!,
        predicted: plan.predictedDecodeTokensPerSecond ?? 0,
        route: route?.transport === "direct" ? `direct ${route.path?.from} -> ${route.path?.to}` : "tunnel",
        reasons,
        learnt: after.predicted?.decodeTokensPerSecond ?? 0,
      });
    };
    await measure("auto, cable up", cableAddress);
    await exec("ip", ["-n", first.name, "link", "set", cable.interfaceName, "down"]);
    await untilPaths(client, 1);
    await measure("auto, cable down (LAN)");
    await exec("ip", ["-n", first.name, "link", "set", cable.interfaceName, "up"]);
    printRows(rows, loadBefore);
    const stem = await writeResults(
      "fabric-netns",
      { lan, shape, split, loadAverage: { before: loadBefore, after: loadavg() }, rows },
      tableOf(rows),
    );
    console.log(`\nwritten to ${stem}.json`);
  });
}

/**
 * `herd plan` for the two-host split, once both hosts are alive: two engines measuring themselves on
 * this machine's two cores can hold a heartbeat back long enough for a node to be suspected a moment.
 */
async function planSplit(client: HerdClient, split: SplitOptions): Promise<PlanView> {
  let plan: PlanView | undefined;
  await until(async () => {
    plan = await client.plan(splitRequest(2, "auto", split));
  }, 120_000);
  return plan!;
}

/** Until the head sees `count` paths to the other host, each with its throughput measured. */
async function untilPaths(client: HerdClient, count: number): Promise<void> {
  await until(async () => {
    const view = await client.cluster();
    const paths = view.links.find((link) => link.from === view.self)?.paths ?? [];
    if (paths.length !== count || paths.some((path) => !(path.bytesPerSecond > 0)))
      throw new Error(`${paths.length} paths measured`);
  }, 120_000);
}

function tableOf(rows: Row[]): string {
  const header = [
    "placement",
    "route",
    "herd tok/s",
    "raw tok/s",
    "herd / raw",
    "bare Node hop / raw",
    "predicted",
    "predicted / herd",
    "after one run",
    "after / herd",
  ];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
  for (const row of rows) {
    lines.push(
      `| ${[
        row.placement,
        row.route,
        row.herd.toFixed(2),
        row.raw.toFixed(2),
        (row.herd / row.raw).toFixed(3),
        (row.bareHop / row.raw).toFixed(3),
        row.predicted.toFixed(2),
        (row.predicted / row.herd).toFixed(2),
        row.learnt.toFixed(2),
        (row.learnt / row.herd).toFixed(2),
      ].join(" | ")} |`,
    );
  }
  const [cable, lanRow] = rows;
  if (cable && lanRow)
    lines.push(
      "",
      `auto over the cable / the same split over the LAN: ${(cable.herd / lanRow.herd).toFixed(2)}`,
    );
  return lines.join("\n");
}

function printRows(rows: Row[], loadBefore: number[]): void {
  console.log(tableOf(rows));
  for (const row of rows)
    console.log(`\nwhy the planner predicted ${row.placement}:\n  ${row.reasons.join("\n  ")}`);
  const format = (values: number[]) => values.map((value) => value.toFixed(2)).join(" ");
  console.log(`\nload average before ${format(loadBefore)}, after ${format(loadavg())}`);
}
