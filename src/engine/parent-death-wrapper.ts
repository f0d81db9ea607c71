import { findExecutable } from "./find-executable.js";
import { runCommand } from "./run-command.js";

/**
 * On Linux, `setpriv --pdeathsig KILL` makes the kernel kill an engine the moment herd dies, even
 * by SIGKILL, so no engine outlives its node. Elsewhere there is no such wrapper and orphans are
 * reaped at the next start instead (`reapOrphanEngines`).
 */
export async function findParentDeathWrapper(): Promise<string[] | undefined> {
  if (process.platform !== "linux") return undefined;
  const setpriv = await findExecutable("setpriv");
  if (!setpriv) return undefined;
  const help = await runCommand(setpriv, ["--help"], { timeoutMs: 5000 }).catch(() => undefined);
  if (!help?.stdout.includes("--pdeathsig")) return undefined;
  return [setpriv, "--pdeathsig", "KILL", "--"];
}
