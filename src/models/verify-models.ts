import { stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { ModelVerification, VerifyProgress } from "../protocol/management.js";
import type { ModelProfile } from "../protocol/model-profile.js";
import { sha256InWorker } from "./hash-in-worker.js";
import type { ModelFile, ModelStore } from "./model-store.js";
import { ggufPartPaths } from "./read-model-profile.js";

/**
 * Hashes the stored files of the named models (all when none is named) and compares each with the
 * sha256 recorded when it was pulled or imported. The outcome is kept in each profile: a model that
 * differs is `corrupt` (`herd models list` shows it, `load` refuses it, `herd health` reports it) until
 * it is pulled again. A model stored before herd recorded checksums gets them recorded now.
 */
export async function verifyModels(
  store: ModelStore,
  names: string[] | undefined,
  options: { signal?: AbortSignal; onProgress?: (progress: VerifyProgress) => void } = {},
): Promise<ModelVerification[]> {
  const profiles = names?.length
    ? await Promise.all(names.map((name) => store.require(name)))
    : await store.list();
  const plans = await Promise.all(
    profiles.map(async (profile) => ({ profile, parts: await partsOf(profile) })),
  );
  const total = plans.reduce(
    (sum, plan) => sum + plan.parts.reduce((part, file) => part + file.sizeBytes, 0),
    0,
  );
  let done = 0;
  const results: ModelVerification[] = [];
  for (const { profile, parts } of plans) {
    const started = performance.now();
    const hashed: ModelFile[] = [];
    let problem: string | undefined;
    for (const part of parts) {
      const path = join(dirname(profile.file), part.name);
      const size = await stat(path).then(
        (stats) => stats.size,
        () => undefined,
      );
      if (size === undefined) {
        problem = `${part.name} is missing`;
        break;
      }
      let sha256: string;
      try {
        sha256 = await sha256InWorker(path, {
          signal: options.signal,
          onProgress: (bytes) =>
            options.onProgress?.({ model: profile.name, file: part.name, completed: done + bytes, total }),
        });
      } catch (error) {
        if (options.signal?.aborted) throw error;
        // A file the disk cannot give back whole is as unusable as one whose bytes changed.
        problem = `${part.name} cannot be read: ${(error as Error).message}`;
        break;
      }
      done += part.sizeBytes;
      hashed.push({ name: part.name, sizeBytes: size, sha256 });
      if (part.sha256 !== undefined && sha256 !== part.sha256) {
        problem = `${part.name} has sha256 ${sha256}, ${size === part.sizeBytes ? "" : `${size} bytes instead of ${part.sizeBytes}, `}recorded ${part.sha256}`;
        break;
      }
    }
    const recordedNow = profile.files === undefined && problem === undefined;
    const state = problem ? "corrupt" : recordedNow ? "recorded" : "verified";
    const checkedAt = new Date().toISOString();
    await store.update(profile.name, (current) => ({
      ...current,
      files: current.files ?? (recordedNow ? hashed : undefined),
      verification: { state: state === "corrupt" ? "corrupt" : "verified", checkedAt, problem },
    }));
    results.push({
      model: profile.name,
      state,
      problem,
      bytes: hashed.reduce((sum, file) => sum + file.sizeBytes, 0),
      seconds: (performance.now() - started) / 1000,
    });
  }
  return results;
}

/** The files to check: as recorded, or (nothing recorded yet) the parts on disk, to record now. */
async function partsOf(
  profile: ModelProfile,
): Promise<Array<{ name: string; sizeBytes: number; sha256?: string }>> {
  if (profile.files) return profile.files;
  return Promise.all(
    ggufPartPaths(profile.file).map(async (path) => ({
      name: basename(path),
      sizeBytes: await stat(path).then(
        (stats) => stats.size,
        () => 0,
      ),
    })),
  );
}
