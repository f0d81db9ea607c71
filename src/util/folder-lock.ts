import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sleep } from "./backoff.js";
import { isProcessAlive } from "./process-alive.js";

/**
 * Runs `work` while holding a lock folder, so that two herd processes on one machine never do it at
 * once (build into the same place, measure the machine while the other does). `onWait` is called
 * once if another process holds it. A lock whose owner is no longer alive is taken over.
 */
export async function withFolderLock<T>(
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
