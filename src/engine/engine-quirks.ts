import { z } from "zod";
import { Workaround } from "../protocol/engine.js";
import { readJsonFile, writeJsonAtomic } from "../util/json-file.js";

const QuirksFile = z.record(z.string(), z.array(Workaround));

/**
 * Workarounds herd found it needs for an engine on this machine (for example `--no-repack` after
 * the engine died of SIGILL while repacking weights). Persisted so that the next start applies them
 * at once and `herd engine info` can say so.
 */
export class EngineQuirks {
  private cache: z.infer<typeof QuirksFile> | undefined;

  constructor(private readonly path: string) {}

  async list(engineKey: string): Promise<Workaround[]> {
    return (await this.load())[engineKey] ?? [];
  }

  async add(engineKey: string, flag: string, reason: string): Promise<void> {
    const all = await this.load();
    const current = all[engineKey] ?? [];
    if (current.some((workaround) => workaround.flag === flag)) return;
    all[engineKey] = [...current, { flag, reason, since: new Date().toISOString() }];
    await writeJsonAtomic(this.path, all);
  }

  private async load(): Promise<z.infer<typeof QuirksFile>> {
    this.cache ??= (await readJsonFile(this.path, QuirksFile)) ?? {};
    return this.cache;
  }
}

/** Identifies an engine for its workarounds: the same binary at the same version. */
export function engineKey(install: { llamaServer: string; version: string }): string {
  return `${install.llamaServer}@${install.version}`;
}
