import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { Backend } from "./protocol/engine.js";

/** A node's settings, parsed once and frozen. */
export interface NodeConfig {
  /** State, models, logs and (by default) engine builds. `HERD_HOME`. Default `~/.herd`. */
  readonly home: string;
  /** Address the API listens on. `--host`. Default `127.0.0.1`. */
  readonly host: string;
  /** API port. `--port`. Default 52415. */
  readonly port: number;
  /** Where engine builds and llama.cpp sources are kept. `HERD_ENGINE_CACHE`. Default `<home>/engine`. */
  readonly engineCache: string;
  /** llama.cpp binaries the user already has. `HERD_ENGINE_DIR`, `--engine-dir`. Default: none (herd's build). */
  readonly engineDirectory: string | undefined;
  /** Backend to build and run. `--backend`. Default: detected. */
  readonly backend: Backend | undefined;
}

export interface ConfigOverrides {
  home?: string;
  host?: string;
  port?: number;
  engineDirectory?: string;
  backend?: string;
}

export const defaultPort = 52415;

/** Reads settings from overrides (command-line flags), then the environment, then defaults. */
export function loadConfig(
  overrides: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): NodeConfig {
  const home = resolve(overrides.home ?? env.HERD_HOME ?? join(homedir(), ".herd"));
  const backendText = overrides.backend ?? env.HERD_BACKEND;
  const backend =
    backendText === undefined || backendText === "auto" ? undefined : Backend.parse(backendText);
  const engineDirectory = overrides.engineDirectory ?? env.HERD_ENGINE_DIR;
  return Object.freeze({
    home,
    host: overrides.host ?? env.HERD_HOST ?? "127.0.0.1",
    port: overrides.port ?? (env.HERD_PORT ? Number.parseInt(env.HERD_PORT, 10) : defaultPort),
    engineCache: resolve(env.HERD_ENGINE_CACHE ?? join(home, "engine")),
    engineDirectory: engineDirectory ? resolve(engineDirectory) : undefined,
    backend,
  });
}

/** The folders under `home`. */
export function homePaths(home: string) {
  return {
    state: join(home, "state"),
    models: join(home, "models"),
    logs: join(home, "logs"),
    run: join(home, "run"),
  };
}
