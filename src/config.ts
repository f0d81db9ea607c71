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
  /** A second port serving the API, for Ollama clients that assume 11434. `--ollama-port`. Default: none. */
  readonly ollamaPort: number | undefined;
  /** Load a known, unloaded model when a request asks for it. `--autoload`, `HERD_AUTOLOAD=on`. Default off. */
  readonly autoload: boolean;
  /** Serve a non-loopback API with no API key (labs only). `--insecure-no-auth`. Default off. */
  readonly insecureNoAuth: boolean;
  /** Origins browsers may call the API from. `--cors-origin`, `HERD_CORS_ORIGIN`. Default none (CORS off). */
  readonly corsOrigins: readonly string[];
  /** Run one short generation on each engine before it is READY. `--no-warmup`, `HERD_WARMUP=off`. Default on. */
  readonly warmup: boolean;
  /**
   * Measure this node's engine once per build, in the background (bandwidth and per-token overhead
   * for the planner). `HERD_CALIBRATE=off`. Default on.
   */
  readonly calibrate: boolean;
  /** Largest request body accepted, in bytes. `--max-body`, `HERD_MAX_BODY`. Default 8 MiB. */
  readonly maxBodyBytes: number;
  /** Largest request head (request line and headers) accepted, in bytes. Default 16 KiB. */
  readonly maxHeaderBytes: number;
  /** Requests queued or running at once on one instance before new ones get 503. `--max-queue`. Default 64. */
  readonly maxQueuePerInstance: number;
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
  ollamaPort?: number;
  autoload?: boolean;
  insecureNoAuth?: boolean;
  corsOrigins?: string[];
  maxBody?: string;
  maxQueue?: number;
  warmup?: boolean;
}

export const defaultMaxBodyBytes = 8 * 1024 * 1024;

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
  const maxBodyText = overrides.maxBody ?? env.HERD_MAX_BODY;
  const maxBodyBytes = maxBodyText === undefined ? defaultMaxBodyBytes : parseBytes(maxBodyText);
  if (maxBodyBytes === undefined || maxBodyBytes < 1024) {
    throw new InvalidRequestError(
      `--max-body '${maxBodyText}' is not a size of at least 1K (try 8M)`,
      "max-body",
    );
  }
  const ollamaPortText = env.HERD_OLLAMA_PORT;
  const maxQueue = overrides.maxQueue ?? (env.HERD_MAX_QUEUE ? Number.parseInt(env.HERD_MAX_QUEUE, 10) : 64);
  if (!Number.isInteger(maxQueue) || maxQueue < 1) {
    throw new InvalidRequestError(
      `--max-queue must be a positive whole number, not '${maxQueue}'`,
      "max-queue",
    );
  }
  const corsText = overrides.corsOrigins ?? (env.HERD_CORS_ORIGIN ? env.HERD_CORS_ORIGIN.split(",") : []);
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
    ollamaPort: overrides.ollamaPort ?? (ollamaPortText ? Number.parseInt(ollamaPortText, 10) : undefined),
    maxBodyBytes,
    autoload: overrides.autoload ?? env.HERD_AUTOLOAD === "on",
    warmup: overrides.warmup ?? env.HERD_WARMUP !== "off",
    calibrate: env.HERD_CALIBRATE !== "off",
    insecureNoAuth: overrides.insecureNoAuth ?? env.HERD_INSECURE_NO_AUTH === "1",
    corsOrigins: Object.freeze(corsText.map((origin) => origin.trim()).filter(Boolean)),
    maxHeaderBytes: 16 * 1024,
    maxQueuePerInstance: maxQueue,
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

/** Whether `host` can only be reached from this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
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

/** The node's own log (JSON lines; the previous one is kept as `node.log.1`), read by `herd logs`. */
export function nodeLogPath(home: string): string {
  return join(homePaths(home).logs, "node.log");
}
