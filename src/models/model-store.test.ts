import { createHash } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ConflictError,
  InvalidModelFileError,
  InvalidRequestError,
  ModelNotFoundError,
} from "../protocol/errors.js";
import { writeGgufFile } from "./gguf-writer.js";
import { ModelStore, modelNameFromFile } from "./model-store.js";
import { GgmlType } from "./tensor-blocks.js";

const storiesPath = fileURLToPath(new URL("../../../shared/models/stories260K-f32.gguf", import.meta.url));

let directory: string;
let storeDirectory: string;
let store: ModelStore;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "herd-model-store-"));
  storeDirectory = join(directory, "models");
  store = new ModelStore(storeDirectory);
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** What is in the store's folder; an absent folder holds nothing. */
async function storeEntries(): Promise<string[]> {
  return readdir(storeDirectory).catch(() => []);
}

/**
 * A copy of stories260K in the temp folder: a file this test owns, on the store's filesystem, so
 * the import is a hard link whatever filesystem the shared model lives on.
 */
async function ownCopy(): Promise<string> {
  const path = join(directory, "source", "stories260K-f32.gguf");
  await mkdir(join(directory, "source"), { recursive: true });
  await copyFile(storiesPath, path);
  return path;
}

describe("modelNameFromFile", () => {
  it.each([
    { file: "stories260K-f32.gguf", name: "stories260K" },
    { file: "Llama-3.2-1B-Instruct.Q4_K_M.gguf", name: "Llama-3.2-1B-Instruct" },
    { file: "model.gguf", name: "model" },
    { file: "/home/alice/models/qwen2.5-0.5b-instruct-q8_0.gguf", name: "qwen2.5-0.5b-instruct" },
    { file: "Meta-Llama-3-8B-Instruct-IQ4_XS.gguf", name: "Meta-Llama-3-8B-Instruct" },
    { file: "mistral-7b_f16.gguf", name: "mistral-7b" },
    { file: "x-bf16.gguf", name: "x" },
    { file: "bitnet-tq1_0.gguf", name: "bitnet" },
    { file: "gpt-oss-20b-mxfp4.gguf", name: "gpt-oss-20b" },
    { file: "SHOUTING.GGUF", name: "SHOUTING" },
    { file: "no-extension-q4_0", name: "no-extension" },
    { file: "my model v2.gguf", name: "my-model-v2" },
    { file: "tiny (copy).gguf", name: "tiny--copy-" },
    { file: "modèle.gguf", name: "mod-le" },
    { file: "-leading-dash.gguf", name: "leading-dash" },
    { file: "_under.gguf", name: "under" },
    // A file named only after its quantization keeps that name rather than becoming empty.
    { file: "Q4_K_M.gguf", name: "Q4_K_M" },
    { file: "f32.gguf", name: "f32" },
    { file: ".gguf", name: "model" },
    { file: "---.gguf", name: "model" },
  ])("names $file as $name", ({ file, name }) => {
    expect(modelNameFromFile(file)).toBe(name);
  });
});

describe("ModelStore.import", () => {
  it("registers stories260K under a name from its file, with the profile from its header", async () => {
    const before = Date.now();
    const profile = await store.import(storiesPath);
    expect(profile).toEqual({
      name: "stories260K",
      file: join(storeDirectory, "stories260K", "stories260K-f32.gguf"),
      source: storiesPath,
      storage: expect.stringMatching(/^(hardlink|symlink)$/),
      // Recorded at import, so that `herd models verify` can tell later whether the file changed.
      files: [
        {
          name: "stories260K-f32.gguf",
          sizeBytes: 1185376,
          sha256: createHash("sha256")
            .update(await readFile(storiesPath))
            .digest("hex"),
        },
      ],
      sizeBytes: 1185376,
      architecture: "llama",
      fileType: "F32",
      parameterCount: 292800,
      layerCount: 5,
      bytesPerLayer: 181760,
      nonLayerBytes: 262400,
      outputWeightBytes: 131072,
      kvBytesPerToken: 640,
      embeddingLength: 64,
      feedForwardLength: 172,
      expertCount: 0,
      expertUsedCount: 0,
      expertBytesPerLayer: 0,
      headCount: 8,
      kvHeadCount: 4,
      trainContextLength: 2048,
      hasChatTemplate: false,
      isEmbeddingModel: false,
      vocabulary: expect.objectContaining({ type: "llama", size: 512 }),
      importedAt: expect.any(String),
    });
    expect(Date.parse(profile.importedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(await store.list()).toEqual([profile]);
    expect(await store.get("stories260K")).toEqual(profile);
    expect(await store.require("stories260K")).toEqual(profile);
    expect((await stat(profile.file)).size).toBe(1185376);
  });

  it("uses the name it is given instead of the file's", async () => {
    const profile = await store.import(storiesPath, { name: "tiny" });
    expect(profile.name).toBe("tiny");
    expect(await storeEntries()).toEqual(["tiny"]);
    expect(await store.get("stories260K")).toBeUndefined();
  });

  it("lists models by name", async () => {
    for (const name of ["zeta", "Alpha", "mid"]) await store.import(storiesPath, { name });
    expect((await store.list()).map((profile) => profile.name)).toEqual(["Alpha", "mid", "zeta"]);
  });

  it("refuses a second import under the same name with ConflictError and keeps the first", async () => {
    const first = await store.import(storiesPath);
    const error = await store.import(storiesPath).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toMatch(/a model named 'stories260K' already exists/);
    expect(await store.list()).toEqual([first]);
    expect((await stat(first.file)).size).toBe(1185376);
  });

  it.each(["bad name", "../escape", "", ".hidden", "a/b", "x".repeat(129)])(
    "refuses the name %j with InvalidRequestError on 'name' and registers nothing",
    async (name) => {
      const error = await store.import(storiesPath, { name }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error).toMatchObject({ param: "name" });
      expect(await store.list()).toEqual([]);
      expect(await storeEntries()).toEqual([]);
    },
  );

  const invalidFiles: Array<{ name: string; write: (path: string) => Promise<unknown> }> = [
    { name: "a file that is not GGUF", write: (path) => writeFile(path, "<html>404 Not Found</html>\n") },
    {
      name: "the first 600 KB of stories260K",
      write: async (path) => writeFile(path, (await readFile(storiesPath)).subarray(0, 600 * 1024)),
    },
    {
      name: "a GGUF of an architecture llama.cpp does not know",
      write: (path) =>
        writeGgufFile(path, {
          metadata: { "general.architecture": { type: "string", value: "herd-imaginary" } },
          tensors: [
            { name: "blk.0.weight", dimensions: [4], type: GgmlType.F32, data: [new Uint8Array(16)] },
          ],
        }),
    },
  ];

  it.each(invalidFiles)(
    "rejects $name with InvalidModelFileError and registers nothing",
    async ({ write }) => {
      const path = join(directory, "broken-q8_0.gguf");
      await write(path);
      const error = await store.import(path).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidModelFileError);
      expect(error).toMatchObject({ path });
      expect(await store.list()).toEqual([]);
      expect(await store.get("broken")).toBeUndefined();
      expect(await storeEntries()).toEqual([]);
    },
  );

  it("rejects a missing file with InvalidModelFileError", async () => {
    await expect(store.import(join(directory, "missing.gguf"))).rejects.toMatchObject({
      name: "InvalidModelFileError",
      problem: "no such file",
    });
    expect(await storeEntries()).toEqual([]);
  });

  it("hard-links a file on the store's filesystem, and copies it when asked", async () => {
    const source = await ownCopy();
    const linked = await store.import(source, { name: "linked" });
    const copied = await store.import(source, { name: "copied", copy: true });
    expect(linked.storage).toBe("hardlink");
    expect(copied.storage).toBe("copy");
    expect((await stat(linked.file)).ino).toBe((await stat(source)).ino);
    expect((await stat(copied.file)).ino).not.toBe((await stat(source)).ino);
    // Buffer.equals: a deep equality over a megabyte of bytes takes seconds.
    expect((await readFile(copied.file)).equals(await readFile(source))).toBe(true);
  });

  it("replaces a folder left without a profile by an interrupted import", async () => {
    await mkdir(join(storeDirectory, "stories260K"), { recursive: true });
    await writeFile(join(storeDirectory, "stories260K", "stories260K-f32.gguf"), "half written");
    expect(await store.list()).toEqual([]);
    const profile = await store.import(storiesPath);
    expect(await store.list()).toEqual([profile]);
    expect((await stat(profile.file)).size).toBe(1185376);
  });
});

describe("ModelStore.create", () => {
  it("registers a file the caller writes, as 'written'", async () => {
    const profile = await store.create("synth", "synth.gguf", "synth:test", (target) =>
      copyFile(storiesPath, target),
    );
    expect(profile).toMatchObject({
      name: "synth",
      file: join(storeDirectory, "synth", "synth.gguf"),
      source: "synth:test",
      storage: "written",
      layerCount: 5,
    });
    expect(await store.list()).toEqual([profile]);
  });

  it.each([
    {
      name: "the writer fails",
      write: async (target: string) => {
        await writeFile(target, "partial");
        throw new Error("disk full");
      },
      error: /disk full/,
    },
    {
      name: "the writer writes something that is not GGUF",
      write: (target: string) => writeFile(target, "not a model"),
      error: /not a readable GGUF file/,
    },
  ])("leaves nothing when $name", async ({ write, error }) => {
    await expect(store.create("synth", "synth.gguf", "synth:test", write)).rejects.toThrow(error);
    expect(await store.list()).toEqual([]);
    expect(await storeEntries()).toEqual([]);
  });
});

describe("ModelStore.remove", () => {
  it("deletes the model's folder", async () => {
    await store.import(storiesPath, { name: "tiny" });
    await store.import(storiesPath);
    await store.remove("tiny");
    expect((await store.list()).map((profile) => profile.name)).toEqual(["stories260K"]);
    expect(await store.get("tiny")).toBeUndefined();
    expect(await storeEntries()).toEqual(["stories260K"]);
  });

  it.each(["hard-linked", "copied"])("keeps the original file of a %s import", async (how) => {
    const source = await ownCopy();
    const profile = await store.import(source, { copy: how === "copied" });
    await store.remove(profile.name);
    expect(await storeEntries()).toEqual([]);
    expect((await stat(source)).size).toBe(1185376);
    // The original is still a model: it imports again.
    expect((await store.import(source)).sizeBytes).toBe(1185376);
  });

  it.each(["gpt-9", "../models", ""])("throws ModelNotFoundError for %j", async (name) => {
    await expect(store.remove(name)).rejects.toBeInstanceOf(ModelNotFoundError);
  });
});
