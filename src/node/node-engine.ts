import { readFile } from "node:fs/promises";
import { type ConfigOverrides, homePaths, loadConfig, type NodeConfig } from "../config.js";
import { buildEngine } from "../engine/build-engine.js";
import { type Backend, detectBackend } from "../engine/detect-backend.js";
import { EngineQuirks, engineKey } from "../engine/engine-quirks.js";
import { listEngineDevices } from "../engine/probe-engine.js";
import { resolveEngine } from "../engine/resolve-engine.js";
import type { BuildProgress, EngineInstall, EngineReport } from "../protocol/engine.js";
import { EngineUnavailableError } from "../protocol/errors.js";

/** How a node that starts finds its engine. */
export interface EngineStartOptions {
  /** Build the engine if there is none (the default for `herd start`). Default true. */
  buildIfMissing?: boolean;
  onBuildProgress?: (progress: BuildProgress) => void;
}

/** herd's own version, from its package.json. */
export async function herdVersion(): Promise<string> {
  const text = await readFile(new URL("../../package.json", import.meta.url), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}

/** Chooses the backend: the configured one, else detection. */
export async function chooseBackend(config: NodeConfig): Promise<{ backend: Backend; reason: string }> {
  if (config.backend) return { backend: config.backend, reason: "chosen with --backend" };
  return detectBackend();
}

/** Finds this node's engine, building it when allowed and absent. */
export async function prepareEngine(
  config: NodeConfig,
  options: EngineStartOptions = {},
): Promise<EngineInstall> {
  const { backend } = await chooseBackend(config);
  try {
    return await resolveEngine({
      cacheDirectory: config.engineCache,
      backend,
      userDirectory: config.engineDirectory,
    });
  } catch (error) {
    if (
      !(error instanceof EngineUnavailableError) ||
      config.engineDirectory ||
      options.buildIfMissing === false
    )
      throw error;
    return buildEngine({ cacheDirectory: config.engineCache, backend, onProgress: options.onBuildProgress });
  }
}

/** Builds the engine for this machine (reusing an existing build unless `force`). */
export async function buildEngineForMachine(
  overrides: ConfigOverrides,
  options: {
    force?: boolean;
    jobs?: number;
    onProgress?: (progress: BuildProgress) => void;
    onBackend?: (backend: Backend, reason: string) => void;
  },
): Promise<EngineInstall> {
  const config = loadConfig(overrides);
  const choice = await chooseBackend(config);
  options.onBackend?.(choice.backend, choice.reason);
  return buildEngine({
    cacheDirectory: config.engineCache,
    backend: choice.backend,
    force: options.force,
    jobs: options.jobs,
    onProgress: options.onProgress,
  });
}

/** The engine report for this machine, read locally (no node needs to run). */
export async function localEngineReport(overrides: ConfigOverrides): Promise<EngineReport> {
  const config = loadConfig(overrides);
  const install = await prepareEngine(config, { buildIfMissing: false });
  const quirks = new EngineQuirks(`${homePaths(config.home).state}/engine-quirks.json`);
  return {
    install,
    workarounds: await quirks.list(engineKey(install)),
    devices: await listEngineDevices(install.llamaServer),
  };
}
