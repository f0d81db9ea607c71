import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sleep } from "../util/backoff.js";
import { isProcessAlive } from "../util/process-alive.js";

/**
 * A lock folder so that two herd processes (a node starting and a test run, say) never build into
 * the same place at once. A lock whose owner is no longer alive is taken over.
 */
export async function withBuildLock<T>(
  path: string,
  onWait: () => void,
  work: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  let waited = false;
  for (;;) {
    try {
      await mkdir(path, { recursive: false });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = Number.parseInt(await readFile(join(path, "pid"), "utf8").catch(() => ""), 10);
      if (!Number.isFinite(owner) || !isProcessAlive(owner)) {
        await rm(path, { recursive: true, force: true });
        continue;
      }
      if (!waited) onWait();
      waited = true;
      await sleep(1000, signal);
    }
  }
  await writeFile(join(path, "pid"), String(process.pid));
  try {
    return await work();
  } finally {
    await rm(path, { recursive: true, force: true });
  }
}
