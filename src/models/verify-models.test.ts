import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ModelStore } from "./model-store.js";
import { verifyModels } from "./verify-models.js";

const storiesPath = fileURLToPath(new URL("../../../shared/models/stories260K-f32.gguf", import.meta.url));

let directory: string;
let store: ModelStore;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "herd-verify-"));
  store = new ModelStore(join(directory, "models"));
  await store.import(storiesPath, { name: "good", copy: true });
  await store.import(storiesPath, { name: "bad", copy: true });
});
afterEach(() => rm(directory, { recursive: true, force: true }));

const outcome = async (names?: string[]) =>
  (await verifyModels(store, names)).map(({ model, state, problem }) => ({ model, state, problem }));

describe("verifyModels", () => {
  it("passes files as they were stored, and reports bytes hashed", async () => {
    const progress: number[] = [];
    const results = await verifyModels(store, undefined, {
      onProgress: (update) => progress.push(update.completed),
    });
    expect(results.map((result) => [result.model, result.state, result.bytes])).toEqual([
      ["bad", "verified", 1185376],
      ["good", "verified", 1185376],
    ]);
    expect(progress.at(-1)).toBe(2 * 1185376);
  });

  it("marks a model whose file changed corrupt, in its profile too", async () => {
    const file = await open((await store.require("bad")).file, "r+");
    await file.write(Buffer.from([1]), 0, 1, 1000);
    await file.close();
    const [bad] = await outcome(["bad"]);
    expect(bad).toMatchObject({ model: "bad", state: "corrupt" });
    expect(bad!.problem).toMatch(/^stories260K-f32\.gguf has sha256 [0-9a-f]{64}, recorded [0-9a-f]{64}$/);
    expect((await store.require("bad")).verification).toMatchObject({
      state: "corrupt",
      problem: bad!.problem,
    });
    expect((await store.require("good")).verification).toBeUndefined();
  });

  it("calls a file cut short or gone corrupt", async () => {
    const file = await open((await store.require("bad")).file, "r+");
    await file.truncate(4096);
    await file.close();
    await rm((await store.require("good")).file);
    expect(await outcome()).toEqual([
      {
        model: "bad",
        state: "corrupt",
        problem: expect.stringMatching(
          /^stories260K-f32\.gguf has sha256 \w+, 4096 bytes instead of 1185376, recorded \w+$/,
        ),
      },
      { model: "good", state: "corrupt", problem: "stories260K-f32.gguf is missing" },
    ]);
  });
});
