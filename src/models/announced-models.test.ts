import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AnnouncedModels } from "./announced-models.js";
import { ModelStore } from "./model-store.js";

const storiesPath = fileURLToPath(new URL("../../../shared/models/stories260K-f32.gguf", import.meta.url));

let directory: string;
let announced: AnnouncedModels;
/** What following the store reported; a test that expects none checks it. */
let followErrors: Error[];
/** Another process's view of the same store: what `herd models import` does with no node to ask. */
let other: ModelStore;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "herd-announced-"));
  const store = new ModelStore(join(directory, "models"));
  await store.list();
  other = new ModelStore(store.directory);
  announced = new AnnouncedModels(store);
  await announced.refresh();
  followErrors = [];
  announced.follow((error) => followErrors.push(error));
});
afterEach(async () => {
  announced.dispose();
  await rm(directory, { recursive: true, force: true });
  expect(followErrors).toEqual([]);
});

describe("the models a node announces, as the store changes under it", () => {
  it("announces a model imported by another process, and drops one it removed", async () => {
    expect(announced.names).toEqual([]);
    await other.import(storiesPath, { name: "imported" });
    await vi.waitFor(() => expect(announced.names).toEqual(["imported"]), { timeout: 3000 });
    await other.remove("imported");
    await vi.waitFor(() => expect(announced.names).toEqual([]), { timeout: 3000 });
  });

  it("stops announcing a copy marked corrupt, and says it is corrupt", async () => {
    await other.import(storiesPath, { name: "flaky" });
    await vi.waitFor(() => expect(announced.names).toEqual(["flaky"]), { timeout: 3000 });
    await other.update("flaky", (profile) => ({
      ...profile,
      verification: { state: "corrupt", problem: "checksum differs", checkedAt: new Date().toISOString() },
    }));
    await vi.waitFor(() => expect(announced.corrupt).toEqual(["flaky"]), { timeout: 3000 });
    expect(announced.names).toEqual([]);
  });

  it("keeps following, and reports nothing, while folders come and go faster than they can be listed", async () => {
    // Another thread makes and removes folders in a tight loop, so that some vanish between the
    // watcher seeing them change and listing them.
    const churn = new Worker(
      `const { mkdirSync, writeFileSync, rmSync } = require("node:fs");
      const { join } = require("node:path");
      const { workerData } = require("node:worker_threads");
      const end = Date.now() + 1500;
      for (let i = 0; Date.now() < end; i++) {
        const folder = join(workerData, "churn-" + (i % 3));
        mkdirSync(join(folder, "nested"), { recursive: true });
        writeFileSync(join(folder, "profile.json"), "{}");
        rmSync(folder, { recursive: true, force: true });
      }`,
      { eval: true, workerData: other.directory },
    );
    await new Promise((resolve, reject) => churn.on("exit", resolve).on("error", reject));
    await other.import(storiesPath, { name: "after" });
    await vi.waitFor(() => expect(announced.names).toEqual(["after"]), { timeout: 3000 });
  });
});
