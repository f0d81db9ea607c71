import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sleep } from "./backoff.js";
import { isProcessAlive } from "./process-alive.js";

/**
 * Runs `work` while holding a lock folder, so that two herd processes on one machine never do it at
 * once (build into the same place, measure the machine while the other does). `onWait` is called
 * once if another process holds it. A lock whose owner is no longer alive is taken over.
 *
 * The lock appears with its owner's pid already in it: a claim folder holding the pid is renamed
 * into place, which fails while another lock is there. (Made empty and then written to, a lock
 * could be read between the two, taken for one whose owner died, and removed under its owner.)
 */
export async function withFolderLock<T>(
  path: string,
  onWait: () => void,
  work: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const claim = `${path}.${process.pid}-${randomBytes(4).toString("hex")}`;
  await mkdir(claim, { recursive: true });
  await writeFile(join(claim, "pid"), String(process.pid));
  let waited = false;
  try {
    for (;;) {
      try {
        await rename(claim, path);
        break;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
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
  } catch (error) {
    await rm(claim, { recursive: true, force: true });
    throw error;
  }
  try {
    return await work();
  } finally {
    await rm(path, { recursive: true, force: true });
  }
}
