import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { abortAfter } from "./abort-after.js";
import { withFolderLock } from "./folder-lock.js";

describe("withFolderLock", () => {
  let base: string;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), "herd-lock-"));
  });
  afterEach(() => rm(base, { recursive: true, force: true }));

  it("runs two holders one after the other, and tells the second it waits", async () => {
    const lock = join(base, "measure.lock");
    const steps: string[] = [];
    let waits = 0;
    const hold = (name: string) => async () => {
      steps.push(`${name} starts`);
      await new Promise((resolve) => setTimeout(resolve, 1200));
      steps.push(`${name} ends`);
      return name;
    };
    const first = withFolderLock(lock, () => steps.push("first waits"), hold("first"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = withFolderLock(lock, () => (waits += 1), hold("second"));
    expect(await Promise.all([first, second])).toEqual(["first", "second"]);
    expect(steps).toEqual(["first starts", "first ends", "second starts", "second ends"]);
    expect(waits).toBe(1);
  });

  it("lets one holder in at a time however many ask at once", async () => {
    const lock = join(base, "measure.lock");
    let inside = 0;
    let most = 0;
    const hold = async () => {
      inside += 1;
      most = Math.max(most, inside);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inside -= 1;
    };
    await Promise.all(Array.from({ length: 4 }, () => withFolderLock(lock, () => {}, hold)));
    expect(most).toBe(1);
  });

  it("takes over a lock whose owner is no longer alive", async () => {
    const lock = join(base, "measure.lock");
    const gone = spawnSync(process.execPath, ["-e", "process.pid"]).pid;
    await mkdir(lock);
    await writeFile(join(lock, "pid"), String(gone));
    let waited = false;
    expect(
      await withFolderLock(
        lock,
        () => (waited = true),
        async () => "ran",
      ),
    ).toBe("ran");
    expect(waited).toBe(false);
  });

  it("stops waiting when its signal is aborted, and never runs the work", async () => {
    const lock = join(base, "measure.lock");
    let release = () => {};
    const holder = withFolderLock(
      lock,
      () => {},
      () => new Promise<void>((resolve) => (release = resolve)),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    let ran = false;
    const waiting = withFolderLock(
      lock,
      () => {},
      async () => {
        ran = true;
      },
      abortAfter(300),
    );
    await expect(waiting).rejects.toThrow();
    release();
    await holder;
    expect(ran).toBe(false);
  });
});
