import { readFile } from "node:fs/promises";
import { platform } from "node:os";
import { join } from "node:path";
import { runCommand } from "./run-command.js";

/**
 * What the kernel says of each logical CPU, in order from cpu0: the CPUs it shares a core with
 * (`topology/thread_siblings`, a mask), and the performance CPUs of a hybrid Intel CPU
 * (`/sys/devices/cpu_core/cpus`, absent elsewhere).
 */
export interface CpuTopology {
  threadSiblings: readonly string[];
  performanceCpus?: ReadonlySet<number>;
}

/**
 * The threads llama-server computes with when it is given none (llama.cpp's
 * `common_cpu_get_num_math`): one per physical core, and on a hybrid CPU one per performance core
 * (efficiency cores hold back threads that work in lockstep). `undefined` when the kernel said nothing.
 */
export function mathCoreCount(topology: CpuTopology): number | undefined {
  const cores = new Set(
    topology.threadSiblings.filter((_, cpu) => topology.performanceCpus?.has(cpu) ?? true),
  );
  return cores.size > 0 ? cores.size : undefined;
}

/** A kernel CPU list (`0-7,16-23`) as the CPUs it names. */
export function parseCpuList(list: string): Set<number> {
  const cpus = new Set<number>();
  for (const part of list.trim().split(",")) {
    if (part === "") continue;
    const [first, last = first] = part.split("-").map(Number) as [number, number?];
    if (!Number.isInteger(first) || !Number.isInteger(last)) continue;
    for (let cpu = first; cpu <= last; cpu++) cpus.add(cpu);
  }
  return cpus;
}

/** Reads `CpuTopology` from sysfs under `root`, up to the first CPU without one, as llama.cpp does. */
export async function readLinuxCpuTopology(root = "/"): Promise<CpuTopology> {
  const threadSiblings: string[] = [];
  for (let cpu = 0; ; cpu++) {
    const path = join(root, "sys/devices/system/cpu", `cpu${cpu}`, "topology/thread_siblings");
    const siblings = await readFile(path, "utf8").catch(() => undefined);
    if (siblings === undefined) break;
    threadSiblings.push(siblings.trim());
  }
  const performance = await readFile(join(root, "sys/devices/cpu_core/cpus"), "utf8").catch(() => undefined);
  return { threadSiblings, ...(performance !== undefined && { performanceCpus: parseCpuList(performance) }) };
}

/** macOS: the performance cores (`hw.perflevel0.physicalcpu`), else every physical core. */
async function readMacosMathCores(): Promise<number | undefined> {
  for (const key of ["hw.perflevel0.physicalcpu", "hw.physicalcpu"]) {
    const result = await runCommand("sysctl", ["-n", key], { timeoutMs: 5_000 }).catch(() => undefined);
    const count = Number(result?.stdout.trim());
    if (result?.code === 0 && Number.isInteger(count) && count > 0) return count;
  }
  return undefined;
}

let engineThreads: Promise<number | undefined> | undefined;

/**
 * The threads to give a ggml-rpc-server that was asked for none: llama-server's own default on this
 * machine (`mathCoreCount`). Left to itself, ggml-rpc-server takes half the logical CPUs, so on a CPU
 * without SMT (ARM boards, many cloud VMs) a shard computed its blocks on half its cores: slower than
 * the node's self-measure (llama-server's) told the planner, and slower than the node can. Elsewhere
 * than Linux and macOS, `undefined`: the engine's own default.
 */
export function defaultEngineThreads(): Promise<number | undefined> {
  engineThreads ??= (async () => {
    if (platform() === "linux") return mathCoreCount(await readLinuxCpuTopology());
    if (platform() === "darwin") return readMacosMathCores();
    return undefined;
  })().catch(() => undefined);
  return engineThreads;
}
