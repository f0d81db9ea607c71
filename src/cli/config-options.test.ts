import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { addSettingOptions, flagSettingNames, toConfigOverrides } from "./config-options.js";

/** What `herd start ARGS` hands the node, with `env` as its environment. */
function startConfig(args: string[], env: NodeJS.ProcessEnv = {}) {
  const command = addSettingOptions(new Command("start").exitOverride(), flagSettingNames);
  command.parse(args, { from: "user" });
  return loadConfig(toConfigOverrides(command), env);
}

describe("herd start's flags", () => {
  it("give the settings their values", () => {
    expect(
      startConfig([
        "--host=0.0.0.0",
        "--port=8080",
        "--join=herd1.t",
        "--peers=a,b:9",
        "--memory-limit=2G",
        "--no-discovery",
        "--engine-dir=/opt/llama",
        "--ollama-port=11434",
        "--autoload",
        "--cors-origin=http://a,http://b",
        "--max-body=1M",
        "--max-queue=3",
        "--no-warmup",
        "--backend=cpu",
      ]),
    ).toMatchObject({
      host: "0.0.0.0",
      clusterHost: "0.0.0.0",
      port: 8080,
      joinToken: "herd1.t",
      peers: ["a:52416", "b:9"],
      memoryLimitBytes: 2 * 1024 ** 3,
      discovery: false,
      engineDirectory: "/opt/llama",
      ollamaPort: 11434,
      autoload: true,
      corsOrigins: ["http://a", "http://b"],
      maxBodyBytes: 1024 ** 2,
      maxQueuePerInstance: 3,
      warmup: false,
      backend: "cpu",
    });
  });

  it("leave the settings without a default in their help to the environment", () => {
    expect(
      startConfig([], { HERD_JOIN: "herd1.e", HERD_PEERS: "c", HERD_AUTOLOAD: "on", HERD_MAX_QUEUE: "5" }),
    ).toMatchObject({ joinToken: "herd1.e", peers: ["c:52416"], autoload: true, maxQueuePerInstance: 5 });
  });

  it("leave a setting to its variable when the flag is not given, and take its default without either", () => {
    expect(
      startConfig([], { HERD_HOST: "10.0.0.1", HERD_PORT: "1", HERD_WARMUP: "off", HERD_DISCOVERY: "off" }),
    ).toMatchObject({ host: "10.0.0.1", port: 1, warmup: false, discovery: false });
    expect(startConfig([])).toMatchObject({ host: "127.0.0.1", port: 52415, warmup: true, discovery: true });
  });

  it("win over the variables when given", () => {
    expect(startConfig(["--port=8080", "--no-warmup"], { HERD_PORT: "1", HERD_WARMUP: "on" })).toMatchObject({
      port: 8080,
      warmup: false,
    });
  });

  it("refuse a port that is not a positive whole number", () => {
    expect(() => startConfig(["--port=0"])).toThrow("port must be a positive whole number");
  });

  it("take 0 where it turns a feature off, and nothing below it", () => {
    expect(startConfig(["--failover-timeout=0"])).toMatchObject({ failoverTimeoutMs: 0 });
    expect(() => startConfig(["--failover-timeout=-1"])).toThrow(
      "failover-timeout must be a whole number (0: off)",
    );
  });
});
