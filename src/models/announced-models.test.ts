import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AnnouncedModels } from "./announced-models.js";
import { ModelStore } from "./model-store.js";

const storiesPath = fileURLToPath(new URL("../../../shared/models/stories260K-f32.gguf", import.meta.url));

let directory: string;
let announced: AnnouncedModels;
/** Another process's view of the same store: what `herd models import` does with no node to ask. */
let other: ModelStore;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "herd-announced-"));
  const store = new ModelStore(join(directory, "models"));
  await store.list();
  other = new ModelStore(store.directory);
  announced = new AnnouncedModels(store);
  await announced.refresh();
  announced.follow((error) => {
    throw error;
  });
});
afterEach(async () => {
  announced.dispose();
  await rm(directory, { recursive: true, force: true });
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
});
