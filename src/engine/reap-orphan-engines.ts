import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runCommand } from "./run-command.js";

/** Remembers an engine's pid so that a later start can stop it if herd died without doing so. */
export async function recordEnginePid(runDirectory: string, name: string, pid: number): Promise<void> {
  await writeFile(join(runDirectory, `${name}.pid`), String(pid), { mode: 0o600 });
}

export async function forgetEnginePid(runDirectory: string, name: string): Promise<void> {
  await rm(join(runDirectory, `${name}.pid`), { force: true });
}

/**
 * Kills engines a previous run of this node left behind (herd killed where the kernel could not
 * take its children along). A pid is only killed if it still runs an engine binary, since pids are
 * reused.
 */
export async function reapOrphanEngines(runDirectory: string): Promise<number[]> {
  const reaped: number[] = [];
  const entries = await readdir(runDirectory).catch(() => [] as string[]);
  for (const entry of entries.filter((name) => name.endsWith(".pid"))) {
    const path = join(runDirectory, entry);
    const pid = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
    await rm(path, { force: true });
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const ps = await runCommand("ps", ["-p", String(pid), "-o", "command="], { timeoutMs: 5000 }).catch(
      () => undefined,
    );
    const command = ps?.stdout.trim() ?? "";
    if (!/llama-server|rpc-server/.test(command)) continue;
    try {
      process.kill(pid, "SIGKILL");
      reaped.push(pid);
    } catch {
      // Gone in the meantime.
    }
  }
  return reaped;
}
