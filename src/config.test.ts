import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { type ConfigOverrides, loadConfig } from "./config.js";

describe("loadConfig", () => {
  it("gives the defaults when nothing is set", () => {
    const config = loadConfig({}, {});
    expect(config).toEqual({
      home: join(homedir(), ".herd"),
      host: "127.0.0.1",
      port: 52415,
      engineCache: join(homedir(), ".herd", "engine"),
      engineDirectory: undefined,
      backend: undefined,
      clusterPort: 52416,
      clusterHost: "127.0.0.1",
      peers: [],
      joinToken: undefined,
      memoryLimitBytes: undefined,
      name: undefined,
      discovery: true,
      ollamaPort: undefined,
      autoload: false,
      failoverTimeoutMs: 60_000,
      streamGatherMs: 10,
      engineThreads: undefined,
      insecureNoAuth: false,
      corsOrigins: [],
      warmup: true,
      calibrate: true,
      maxBodyBytes: 8 * 1024 * 1024,
      maxHeaderBytes: 16 * 1024,
      maxQueuePerInstance: 64,
      hub: { endpoint: "https://huggingface.co", token: undefined, offline: false },
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.peers)).toBe(true);
  });

  const rows: Array<[string, ConfigOverrides, NodeJS.ProcessEnv, Partial<ReturnType<typeof loadConfig>>]> = [
    ["a flag wins over its variable", { port: 1234 }, { HERD_PORT: "999" }, { port: 1234 }],
    ["--failover-timeout is in seconds", { failoverTimeout: 5 }, {}, { failoverTimeoutMs: 5_000 }],
    [
      "HERD_FAILOVER_TIMEOUT=0 turns continuation off",
      {},
      { HERD_FAILOVER_TIMEOUT: "0" },
      { failoverTimeoutMs: 0 },
    ],
    [
      "HERD_STREAM_GATHER=0 writes each token as it comes",
      {},
      { HERD_STREAM_GATHER: "0" },
      { streamGatherMs: 0 },
    ],
    ["HERD_ENGINE_THREADS sets the engines' threads", {}, { HERD_ENGINE_THREADS: "3" }, { engineThreads: 3 }],
    ["--engine-threads wins", { engineThreads: 2 }, { HERD_ENGINE_THREADS: "3" }, { engineThreads: 2 }],
    ["HERD_CALIBRATE=off leaves the engine unmeasured", {}, { HERD_CALIBRATE: "off" }, { calibrate: false }],
    [
      "a variable wins over the default",
      {},
      { HERD_PORT: "999", HERD_CLUSTER_PORT: "998" },
      { port: 999, clusterPort: 998 },
    ],
    [
      "an empty number variable counts as unset",
      {},
      { HERD_PORT: "", HERD_MAX_QUEUE: "" },
      { port: 52415, maxQueuePerInstance: 64 },
    ],
    ["the cluster channel listens where the API does", { host: "0.0.0.0" }, {}, { clusterHost: "0.0.0.0" }],
    [
      "HERD_HOST is the API's address too",
      {},
      { HERD_HOST: "10.0.0.2" },
      { host: "10.0.0.2", clusterHost: "10.0.0.2" },
    ],
    [
      "--cluster-host wins",
      { clusterHost: "10.0.0.3" },
      { HERD_CLUSTER_HOST: "10.0.0.4" },
      { clusterHost: "10.0.0.3" },
    ],
    ["peers get the default cluster port", { peers: [" a ", "b:7", ""] }, {}, { peers: ["a:52416", "b:7"] }],
    ["HERD_PEERS is comma-separated", {}, { HERD_PEERS: "c,d:9" }, { peers: ["c:52416", "d:9"] }],
    [
      "CORS origins are trimmed",
      {},
      { HERD_CORS_ORIGIN: "http://a, http://b," },
      { corsOrigins: ["http://a", "http://b"] },
    ],
    [
      "switches read their variables",
      {},
      { HERD_DISCOVERY: "off", HERD_AUTOLOAD: "on", HERD_WARMUP: "off", HERD_INSECURE_NO_AUTH: "1" },
      { discovery: false, autoload: true, warmup: false, insecureNoAuth: true },
    ],
    [
      "other text leaves switches at their defaults",
      {},
      { HERD_DISCOVERY: "no", HERD_AUTOLOAD: "yes", HERD_INSECURE_NO_AUTH: "true" },
      { discovery: true, autoload: false, insecureNoAuth: false },
    ],
    [
      "a flag's switch wins over the variable",
      { discovery: true, warmup: true },
      { HERD_DISCOVERY: "off", HERD_WARMUP: "off" },
      { discovery: true, warmup: true },
    ],
    [
      "sizes are read",
      { memoryLimit: "8G" },
      { HERD_MAX_BODY: "64K" },
      { memoryLimitBytes: 8 * 1024 ** 3, maxBodyBytes: 64 * 1024 },
    ],
    [
      "the engine cache follows HERD_HOME",
      {},
      { HERD_HOME: "/tmp/h" },
      { home: "/tmp/h", engineCache: "/tmp/h/engine" },
    ],
    [
      "HERD_ENGINE_CACHE is its own",
      { home: "/tmp/h" },
      { HERD_HOME: "/tmp/other", HERD_ENGINE_CACHE: "/tmp/c" },
      { home: "/tmp/h", engineCache: "/tmp/c" },
    ],
    [
      "paths are resolved",
      { home: "rel", engineDirectory: "bin" },
      {},
      { home: resolve("rel"), engineDirectory: resolve("bin") },
    ],
    ["backend auto means detect", { backend: "auto" }, { HERD_BACKEND: "cuda" }, { backend: undefined }],
    ["HERD_BACKEND names one", {}, { HERD_BACKEND: "vulkan" }, { backend: "vulkan" }],
    ["the Ollama port comes from its variable", {}, { HERD_OLLAMA_PORT: "11434" }, { ollamaPort: 11434 }],
    [
      "join token and name",
      {},
      { HERD_JOIN: "herd1.x", HERD_NAME: "a" },
      { joinToken: "herd1.x", name: "a" },
    ],
    [
      "the hub",
      {},
      { HF_ENDPOINT: "https://mirror", HUGGING_FACE_HUB_TOKEN: "t", HF_HUB_OFFLINE: "true" },
      { hub: { endpoint: "https://mirror", token: "t", offline: true } },
    ],
    [
      "HF_TOKEN wins, empty ones count as unset",
      {},
      { HF_ENDPOINT: "", HF_TOKEN: "a", HUGGING_FACE_HUB_TOKEN: "b" },
      { hub: { endpoint: "https://huggingface.co", token: "a", offline: false } },
    ],
  ];
  it.each(rows)("%s", (_, overrides, env, expected) => {
    expect(loadConfig(overrides, env)).toMatchObject(expected);
  });

  const refusals: Array<[string, ConfigOverrides, NodeJS.ProcessEnv, RegExp]> = [
    [
      "a memory limit that is no size",
      { memoryLimit: "lots" },
      {},
      /^--memory-limit 'lots' is not a size \(try 8G or 512M\)$/,
    ],
    [
      "a body limit under 1K",
      {},
      { HERD_MAX_BODY: "10" },
      /^--max-body '10' is not a size of at least 1K \(try 8M\)$/,
    ],
    ["an empty queue", { maxQueue: 0 }, {}, /^--max-queue must be a positive whole number, not '0'$/],
    ["an unknown backend", {}, { HERD_BACKEND: "tpu" }, /^--backend or HERD_BACKEND 'tpu'/],
    ["a port that is no number", {}, { HERD_PORT: "http" }, /^--port or HERD_PORT 'NaN'/],
  ];
  it.each(refusals)("refuses %s", (_, overrides, env, message) => {
    expect(() => loadConfig(overrides, env)).toThrow(message);
  });
});
