import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { mathCoreCount, parseCpuList, readLinuxCpuTopology } from "./engine-threads.js";

/** A sysfs tree of its own: each CPU's `thread_siblings` mask, and a hybrid CPU's performance CPUs. */
async function sysfs(siblings: string[], performanceCpus?: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "herd-test-sysfs-"));
  roots.push(root);
  for (const [cpu, mask] of siblings.entries()) {
    const topology = join(root, "sys/devices/system/cpu", `cpu${cpu}`, "topology");
    await mkdir(topology, { recursive: true });
    await writeFile(join(topology, "thread_siblings"), `${mask}\n`);
  }
  if (performanceCpus !== undefined) {
    await mkdir(join(root, "sys/devices/cpu_core"), { recursive: true });
    await writeFile(join(root, "sys/devices/cpu_core/cpus"), `${performanceCpus}\n`);
  }
  return root;
}
const roots: string[] = [];
afterEach(async () => {
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

describe("the threads llama-server computes with by itself", () => {
  it.each([
    // 4 cores with SMT: cpu N and N+4 share a core, as Linux numbers them on x86.
    ["a CPU with SMT: one per core", ["11", "22", "44", "88", "11", "22", "44", "88"], undefined, 4],
    // An ARM board or a VM without SMT: every CPU is a core of its own.
    ["a CPU without SMT: every CPU", ["1", "2", "4", "8"], undefined, 4],
    // Intel hybrid: 2 performance cores with SMT (cpus 0-3), 4 efficiency cores (4-7).
    ["a hybrid CPU: the performance cores", ["03", "03", "0c", "0c", "10", "20", "40", "80"], "0-3", 2],
  ])("%s", async (_, siblings, performanceCpus, threads) => {
    expect(mathCoreCount(await readLinuxCpuTopology(await sysfs(siblings, performanceCpus)))).toBe(threads);
  });

  it("stops at the first CPU the kernel does not describe, as llama.cpp does", async () => {
    const root = await sysfs(["1", "2", "4"]);
    await rm(join(root, "sys/devices/system/cpu/cpu1"), { recursive: true });
    expect(mathCoreCount(await readLinuxCpuTopology(root))).toBe(1);
  });

  it("says nothing where the kernel says nothing", async () => {
    const root = await mkdtemp(join(tmpdir(), "herd-test-sysfs-"));
    roots.push(root);
    expect(mathCoreCount(await readLinuxCpuTopology(root))).toBeUndefined();
  });

  it("reads the kernel's CPU lists", () => {
    expect([...parseCpuList("0-3,8,10-11\n")]).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect([...parseCpuList("")]).toEqual([]);
  });
});
