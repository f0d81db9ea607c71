import { copyFile, link, mkdir, readdir, rename, rm, stat, statfs, symlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import {
  ConflictError,
  InsufficientStorageError,
  InvalidRequestError,
  ModelNotFoundError,
} from "../protocol/errors.js";
import { ModelName } from "../protocol/ids.js";
import { ModelProfile } from "../protocol/model-profile.js";
import { readJsonFile, writeJsonAtomic } from "../util/json-file.js";
import { sha256OfFile } from "./hash-file.js";
import { sha256InWorker } from "./hash-in-worker.js";
import { ggufPartPaths, readGgufFacts } from "./read-model-profile.js";

/** A model's file as peers and pulls see it. */
export type ModelFile = NonNullable<ModelProfile["files"]>[number];

/** A verified file waiting outside the store, to be moved in under `name`. */
export interface DownloadedFile extends ModelFile {
  path: string;
}

export interface ImportOptions {
  /** Name clients will use; derived from the file name when absent. */
  name?: string;
  /** Copy the file instead of linking it (for sources that may disappear). Default false. */
  copy?: boolean;
}

/**
 * The models on this machine: one folder per model under `HERD_HOME/models`, holding the GGUF file
 * (hard link, copy or symlink) and `profile.json`. A model exists once its profile is written, and
 * the profile is written last, so a failed import leaves nothing registered.
 */
export class ModelStore {
  private readonly describing = new Map<string, Promise<ModelFile[]>>();

  constructor(readonly directory: string) {}

  /** Where downloads in progress live (inside the store's filesystem, so finished files move in by rename). */
  get downloadsDirectory(): string {
    return join(this.directory, ".downloads");
  }

  async list(): Promise<ModelProfile[]> {
    await mkdir(this.directory, { recursive: true });
    const entries = await readdir(this.directory, { withFileTypes: true });
    const profiles: ModelProfile[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
      const profile = await readJsonFile(
        join(this.directory, entry.name, "profile.json"),
        ModelProfile,
      ).catch(() => undefined);
      if (profile) profiles.push(profile);
    }
    return profiles.sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(name: string): Promise<ModelProfile | undefined> {
    if (!ModelName.safeParse(name).success) return undefined;
    return readJsonFile(join(this.directory, name, "profile.json"), ModelProfile).catch(() => undefined);
  }

  async require(name: string): Promise<ModelProfile> {
    const profile = await this.get(name);
    if (!profile) throw new ModelNotFoundError(name);
    return profile;
  }

  /** Registers an existing GGUF file, after checking its header. */
  async import(sourcePath: string, options: ImportOptions = {}): Promise<ModelProfile> {
    const source = resolve(sourcePath);
    const name = this.validName(options.name ?? modelNameFromFile(source));
    // Check the header before anything is created, so a bad file leaves no trace.
    await readGgufFacts(source);
    return this.register(name, basename(source), source, async (target) => {
      let storage: ModelProfile["storage"] = "hardlink";
      // A split model's parts all go beside the first, where llama.cpp looks for them.
      for (const part of ggufPartPaths(source)) {
        storage = await placeFile(part, join(dirname(target), basename(part)), options.copy ?? false);
      }
      return storage;
    });
  }

  /** Registers a model whose file `write` creates at the path it is given (synthetic models, downloads). */
  async create(
    name: string,
    fileName: string,
    source: string,
    write: (target: string) => Promise<void>,
  ): Promise<ModelProfile> {
    return this.register(this.validName(name), fileName, source, async (target) => {
      await write(target);
      return "written";
    });
  }

  /**
   * Registers downloaded, verified files (all parts of a split model, first part first) by moving
   * them into the model's folder. On failure they are deleted with the folder: they were verified,
   * so a file that still does not read as a model would not improve by being fetched again.
   */
  async adopt(name: string, files: DownloadedFile[], source: string): Promise<ModelProfile> {
    const first = files[0];
    if (!first) throw new InvalidRequestError("a model needs at least one file");
    return this.register(
      this.validName(name),
      first.name,
      source,
      async (target) => {
        for (const file of files) await rename(file.path, join(dirname(target), file.name));
        return "downloaded";
      },
      files.map(({ name: fileName, sizeBytes, sha256 }) => ({ name: fileName, sizeBytes, sha256 })),
    );
  }

  /**
   * Every file of a model with its size and sha256, for a peer that copies it. Imported models get
   * their checksums computed once (on first request) and kept in the profile.
   */
  files(name: string): Promise<ModelFile[]> {
    let pending = this.describing.get(name);
    if (!pending) {
      pending = this.describeFiles(name).finally(() => this.describing.delete(name));
      this.describing.set(name, pending);
    }
    return pending;
  }

  private async describeFiles(name: string): Promise<ModelFile[]> {
    const profile = await this.require(name);
    if (profile.files) return profile.files;
    const files: ModelFile[] = [];
    for (const part of ggufPartPaths(profile.file)) {
      files.push({
        name: basename(part),
        sizeBytes: (await stat(part)).size,
        sha256: await sha256OfFile(part),
      });
    }
    // The profile may have been removed meanwhile; then there is nothing to remember.
    if (await this.get(name))
      await writeJsonAtomic(join(this.directory, name, "profile.json"), { ...profile, files });
    return files;
  }

  /** Rewrites a model's profile (a verification's outcome, checksums recorded late). */
  async update(name: string, change: (profile: ModelProfile) => ModelProfile): Promise<ModelProfile> {
    const updated = ModelProfile.parse(change(await this.require(name)));
    await writeJsonAtomic(join(this.directory, name, "profile.json"), updated);
    return updated;
  }

  async remove(name: string): Promise<void> {
    await this.require(name);
    // Drop the profile first: from then on the model is gone even if removing the file fails.
    await rm(join(this.directory, name, "profile.json"), { force: true });
    await rm(join(this.directory, name), { recursive: true, force: true });
  }

  private validName(name: string): ModelName {
    const parsed = ModelName.safeParse(name);
    if (!parsed.success) {
      throw new InvalidRequestError(
        `invalid model name '${name}': ${parsed.error.issues[0]?.message}`,
        "name",
      );
    }
    return parsed.data;
  }

  private async register(
    name: ModelName,
    fileName: string,
    source: string,
    place: (target: string) => Promise<ModelProfile["storage"]>,
    files?: ModelFile[],
  ): Promise<ModelProfile> {
    const folder = join(this.directory, name);
    if (await this.get(name)) {
      throw new ConflictError(
        `a model named '${name}' already exists; choose another with --name or remove it first`,
      );
    }
    await rm(folder, { recursive: true, force: true });
    await mkdir(folder, { recursive: true });
    const file = join(folder, fileName);
    try {
      const storage = await place(file);
      const facts = await readGgufFacts(file);
      const profile = ModelProfile.parse({
        name,
        file,
        source,
        storage,
        // The checksums `herd models verify` compares against: what the file is when it is stored.
        files: files ?? (await checksumsOf(file)),
        ...facts,
        importedAt: new Date().toISOString(),
      });
      await writeJsonAtomic(join(folder, "profile.json"), profile);
      return profile;
    } catch (error) {
      await rm(folder, { recursive: true, force: true });
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOSPC" || code === "EDQUOT") {
        const free = await statfs(this.directory).then(
          (stats) => stats.bavail * stats.bsize,
          () => undefined,
        );
        throw new InsufficientStorageError(
          this.directory,
          { availableBytes: free, writing: `model '${name}'` },
          { cause: error },
        );
      }
      throw error;
    }
  }
}

/** Size and sha256 of every part of the model whose first file is `file`. */
async function checksumsOf(file: string): Promise<ModelFile[]> {
  const files: ModelFile[] = [];
  for (const part of ggufPartPaths(file)) {
    files.push({
      name: basename(part),
      sizeBytes: (await stat(part)).size,
      sha256: await sha256InWorker(part),
    });
  }
  return files;
}

/** Puts `source` at `target`: a copy when asked, else a hard link, else (another filesystem) a symlink. */
async function placeFile(source: string, target: string, copy: boolean): Promise<ModelProfile["storage"]> {
  if (copy) {
    await copyFile(source, target);
    return "copy";
  }
  try {
    await link(source, target);
    return "hardlink";
  } catch (error) {
    // Another filesystem or no permission to link: fall back to a symlink rather than silently
    // copying what may be tens of gigabytes.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EXDEV" && code !== "EPERM" && code !== "EACCES") throw error;
    await symlink(source, target);
    return "symlink";
  }
}

/** `stories260K-f32.gguf` → `stories260K`; `Llama-3.2-1B-Instruct.Q4_K_M.gguf` → `Llama-3.2-1B-Instruct`. */
export function modelNameFromFile(path: string): string {
  const stem = basename(path).replace(/\.gguf$/i, "");
  const withoutQuantization = stem.replace(/[-._](f32|f16|bf16|q\d\w*|iq\d\w*|tq\d_\d|mxfp4)$/i, "");
  const name = (withoutQuantization || stem).replace(/[^A-Za-z0-9._:-]/g, "-").replace(/^[^A-Za-z0-9]+/, "");
  return (name || "model").slice(0, 128);
}
