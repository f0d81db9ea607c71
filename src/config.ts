import { join, resolve } from "node:path";
import type { z } from "zod";
import {
  defaultClusterPort,
  type FlagSettingName,
  NodeSettingsSchema,
  nodeSettings,
  type SettingName,
} from "./node-settings.js";
import { InvalidRequestError } from "./protocol/errors.js";
import { parseBytes } from "./util/format.js";

export { defaultClusterPort, defaultPort } from "./node-settings.js";

export const defaultMaxBodyBytes = 8 * 1024 * 1024;

/** What `herd start`'s flags give (each absent one falls back to its variable, then its default). */
export type ConfigOverrides = { [Name in FlagSettingName]?: z.input<(typeof nodeSettings)[Name]["schema"]> };

/** A node's settings, parsed once and frozen: the settings with their sizes read and paths resolved. */
export const NodeConfig = NodeSettingsSchema.transform((settings) => {
  const home = resolve(settings.home);
  return Object.freeze({
    /** State, models, logs and (by default) engine builds. `HERD_HOME`, `--home`. Default `~/.herd`. */
    home,
    /** Address the API listens on. `--host`, `HERD_HOST`. Default `127.0.0.1`. */
    host: settings.host,
    /** API port. `--port`, `HERD_PORT`. Default 52415. */
    port: settings.port,
    /** Where engine builds and llama.cpp sources are kept. `HERD_ENGINE_CACHE`. Default `<home>/engine`. */
    engineCache: resolve(settings.engineCache ?? join(home, "engine")),
    /** llama.cpp binaries the user already has. `HERD_ENGINE_DIR`, `--engine-dir`. Default: none (herd's build). */
    engineDirectory: settings.engineDirectory ? resolve(settings.engineDirectory) : undefined,
    /** Backend to build and run. `--backend`, `HERD_BACKEND`. Default: detected. */
    backend: settings.backend === "auto" ? undefined : settings.backend,
    /** Cluster channel port. `--cluster-port`, `HERD_CLUSTER_PORT`. Default 52416. */
    clusterPort: settings.clusterPort,
    /** Address the cluster channel listens on. `--cluster-host`, `HERD_CLUSTER_HOST`. Default: the API's `--host`. */
    clusterHost: settings.clusterHost ?? settings.host,
    /** Peers to dial, `host:port` of their cluster channels. `--peers`, `HERD_PEERS`. Default none. */
    peers: Object.freeze(
      settings.peers
        .map((peer) => peer.trim())
        .filter(Boolean)
        .map((peer) => (peer.includes(":") ? peer : `${peer}:${defaultClusterPort}`)),
    ),
    /** A join token from another node (`--join`, `HERD_JOIN`). Default none: this node starts (or keeps) its own cluster. */
    joinToken: settings.joinToken,
    /** Advertise at most this much memory. `--memory-limit`, `HERD_MEMORY_LIMIT`. Default: all of it. */
    memoryLimitBytes: memoryLimitBytes(settings.memoryLimit),
    /** The node's name in the cluster. `--name`, `HERD_NAME`. Default: the host name. */
    name: settings.name,
    /** LAN discovery by UDP multicast. `--no-discovery`, `HERD_DISCOVERY=off` turn it off. Default on. */
    discovery: settings.discovery,
    /** A second port serving the API, for Ollama clients that assume 11434. `--ollama-port`, `HERD_OLLAMA_PORT`. Default: none. */
    ollamaPort: settings.ollamaPort,
    /** Load a known, unloaded model when a request asks for it. `--autoload`, `HERD_AUTOLOAD=on`. Default off. */
    autoload: settings.autoload,
    /**
     * How long a streamed reply whose instance failed mid-way waits for an instance to continue it,
     * in milliseconds; 0: replies are not continued. `--failover-timeout <seconds>`,
     * `HERD_FAILOVER_TIMEOUT`. Default 60 s.
     */
    failoverTimeoutMs: settings.failoverTimeout * 1000,
    /**
     * Tokens of a streamed reply that come faster than two per this many milliseconds leave in one
     * write per window (one system call and one wake of the client instead of one each). `--stream-gather <ms>`,
     * `HERD_STREAM_GATHER`; 0 writes each as it comes. Default 10 ms.
     */
    streamGatherMs: settings.streamGather,
    /**
     * CPU threads for each engine this node runs (llama-server, ggml-rpc-server, the self-measure)
     * where a load names none. `--engine-threads`, `HERD_ENGINE_THREADS`. Default: llama.cpp's
     * (`defaultEngineThreads`), one per performance core.
     */
    engineThreads: settings.engineThreads,
    /** Serve a non-loopback API with no API key (labs only). `--insecure-no-auth`, `HERD_INSECURE_NO_AUTH=1`. Default off. */
    insecureNoAuth: settings.insecureNoAuth,
    /** Origins browsers may call the API from. `--cors-origin`, `HERD_CORS_ORIGIN`. Default none (CORS off). */
    corsOrigins: Object.freeze(settings.corsOrigins.map((origin) => origin.trim()).filter(Boolean)),
    /** Run one short generation on each engine before it is READY. `--no-warmup`, `HERD_WARMUP=off`. Default on. */
    warmup: settings.warmup,
    /**
     * Measure this node's engine once per build, in the background (bandwidth and per-token overhead
     * for the planner). `HERD_CALIBRATE=off` turns it off. Default on.
     */
    calibrate: settings.calibrate,
    /** Largest request body accepted, in bytes. `--max-body`, `HERD_MAX_BODY`. Default 8 MiB. */
    maxBodyBytes: maxBodyBytes(settings.maxBody),
    /** Largest request head (request line and headers) accepted, in bytes. Default 16 KiB. */
    maxHeaderBytes: 16 * 1024,
    /** Requests queued or running at once on one instance before new ones get 503. `--max-queue`, `HERD_MAX_QUEUE`. Default 64. */
    maxQueuePerInstance: maxQueue(settings.maxQueue),
    /**
     * The model hub: `HF_ENDPOINT` (a mirror), `HF_TOKEN` (gated and private repositories),
     * `HF_HUB_OFFLINE=1` (never download). Default `https://huggingface.co`, no token, online.
     */
    hub: Object.freeze({
      endpoint: settings.hubEndpoint,
      token: settings.hubToken,
      offline: settings.hubOffline,
    }),
  });
});
export type NodeConfig = z.output<typeof NodeConfig>;

/** Reads settings from overrides (command-line flags), then the environment, then defaults. */
export function loadConfig(
  overrides: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): NodeConfig {
  const given: Partial<Record<SettingName, unknown>> = {};
  for (const [name, setting] of Object.entries(nodeSettings) as Array<
    [SettingName, (typeof nodeSettings)[SettingName]]
  >) {
    given[name] = (overrides as Partial<Record<SettingName, unknown>>)[name] ?? fromEnvironment(setting, env);
  }
  const parsed = NodeConfig.safeParse(given);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const name = issue.path[0] as SettingName;
  const setting: { env?: { names: readonly string[] }; flag?: { spec: string } } = nodeSettings[name] ?? {};
  const sources = [setting.flag?.spec.split(" ")[0], ...(setting.env?.names ?? [])]
    .filter(Boolean)
    .join(" or ");
  throw new InvalidRequestError(`${sources} '${String(given[name])}': ${issue.message}`, name, {
    cause: parsed.error,
  });
}

/** The value a setting's environment variables give, or undefined when none is set. */
function fromEnvironment(
  setting: { env?: { names: readonly string[]; read: (text: string) => unknown } },
  env: NodeJS.ProcessEnv,
): unknown {
  for (const name of setting.env?.names ?? []) {
    const text = env[name];
    const value = text === undefined ? undefined : setting.env!.read(text);
    if (value !== undefined) return value;
  }
  return undefined;
}

function memoryLimitBytes(text: string | undefined): number | undefined {
  const bytes = text === undefined ? undefined : parseBytes(text);
  if (text !== undefined && bytes === undefined) {
    throw new InvalidRequestError(`--memory-limit '${text}' is not a size (try 8G or 512M)`, "memory-limit");
  }
  return bytes;
}

function maxBodyBytes(text: string | undefined): number {
  const bytes = text === undefined ? defaultMaxBodyBytes : parseBytes(text);
  if (bytes === undefined || bytes < 1024) {
    throw new InvalidRequestError(`--max-body '${text}' is not a size of at least 1K (try 8M)`, "max-body");
  }
  return bytes;
}

function maxQueue(count: number): number {
  if (!Number.isInteger(count) || count < 1) {
    throw new InvalidRequestError(`--max-queue must be a positive whole number, not '${count}'`, "max-queue");
  }
  return count;
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
