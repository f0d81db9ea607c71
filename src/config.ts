import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { Backend } from "./protocol/engine.js";
import { InvalidRequestError } from "./protocol/errors.js";
import { parseBytes } from "./util/format.js";

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
  /** Cluster channel port. `--cluster-port`. Default 52416. */
  readonly clusterPort: number;
  /** Address the cluster channel listens on. `--cluster-host`. Default: the API's `--host`. */
  readonly clusterHost: string;
  /** Peers to dial, `host:port` of their cluster channels. `--peers`. Default none. */
  readonly peers: readonly string[];
  /** A join token from another node (`--join`). Default none: this node starts (or keeps) its own cluster. */
  readonly joinToken: string | undefined;
  /** Advertise at most this much memory. `--memory-limit`. Default: all of it. */
  readonly memoryLimitBytes: number | undefined;
  /** The node's name in the cluster. `--name`. Default: the host name. */
  readonly name: string | undefined;
  /** LAN discovery by UDP multicast. `--no-discovery` turns it off. Default on. */
  readonly discovery: boolean;
  /**
   * The model hub: `HF_ENDPOINT` (a mirror), `HF_TOKEN` (gated and private repositories),
   * `HF_HUB_OFFLINE=1` (never download). Default `https://huggingface.co`, no token, online.
   */
  readonly hub: Readonly<{ endpoint: string; token: string | undefined; offline: boolean }>;
}

export interface ConfigOverrides {
  home?: string;
  host?: string;
  port?: number;
  engineDirectory?: string;
  backend?: string;
  clusterPort?: number;
  clusterHost?: string;
  peers?: string[];
  joinToken?: string;
  memoryLimit?: string;
  name?: string;
  discovery?: boolean;
}

export const defaultPort = 52415;
export const defaultClusterPort = 52416;

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
  const host = overrides.host ?? env.HERD_HOST ?? "127.0.0.1";
  const memoryLimitText = overrides.memoryLimit ?? env.HERD_MEMORY_LIMIT;
  const memoryLimitBytes = memoryLimitText === undefined ? undefined : parseBytes(memoryLimitText);
  if (memoryLimitText !== undefined && memoryLimitBytes === undefined) {
    throw new InvalidRequestError(
      `--memory-limit '${memoryLimitText}' is not a size (try 8G or 512M)`,
      "memory-limit",
    );
  }
  const peersText = overrides.peers ?? (env.HERD_PEERS ? env.HERD_PEERS.split(",") : []);
  return Object.freeze({
    home,
    host,
    clusterPort:
      overrides.clusterPort ??
      (env.HERD_CLUSTER_PORT ? Number.parseInt(env.HERD_CLUSTER_PORT, 10) : defaultClusterPort),
    clusterHost: overrides.clusterHost ?? env.HERD_CLUSTER_HOST ?? host,
    peers: Object.freeze(
      peersText
        .map((peer) => peer.trim())
        .filter(Boolean)
        .map((peer) => (peer.includes(":") ? peer : `${peer}:${defaultClusterPort}`)),
    ),
    joinToken: overrides.joinToken ?? env.HERD_JOIN,
    memoryLimitBytes,
    name: overrides.name ?? env.HERD_NAME,
    discovery: overrides.discovery ?? env.HERD_DISCOVERY !== "off",
    port: overrides.port ?? (env.HERD_PORT ? Number.parseInt(env.HERD_PORT, 10) : defaultPort),
    engineCache: resolve(env.HERD_ENGINE_CACHE ?? join(home, "engine")),
    engineDirectory: engineDirectory ? resolve(engineDirectory) : undefined,
    backend,
    hub: Object.freeze({
      endpoint: env.HF_ENDPOINT || "https://huggingface.co",
      token: env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined,
      offline: env.HF_HUB_OFFLINE === "1" || env.HF_HUB_OFFLINE === "true",
    }),
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
