import { mkdir } from "node:fs/promises";
import { ApiKeyStore } from "../cluster/api-key-store.js";
import { type JoinToken, parseJoinToken } from "../cluster/join-token.js";
import { loadNodeIdentity, type NodeIdentity } from "../cluster/node-identity.js";
import { homePaths, isLoopbackHost, type NodeConfig, nodeLogPath } from "../config.js";
import { EngineQuirks, engineKey } from "../engine/engine-quirks.js";
import { reapOrphanEngines } from "../engine/reap-orphan-engines.js";
import type { EngineInstall } from "../protocol/engine.js";
import { HerdError } from "../protocol/errors.js";
import { createLogger, type Logger } from "../util/logger.js";
import { type EngineStartOptions, prepareEngine } from "./node-engine.js";

/** What a node has before any of its parts start: its home, log, keys, engine and identity. */
export interface NodeBasics {
  config: NodeConfig;
  paths: ReturnType<typeof homePaths>;
  logger: Logger;
  apiKeys: ApiKeyStore;
  /** The API listens beyond loopback. */
  exposed: boolean;
  engine: EngineInstall;
  quirks: EngineQuirks;
  identity: NodeIdentity;
  /** The join token it was started with, if any. */
  token: JoinToken | undefined;
}

/**
 * Everything a node needs before its parts start, checked in the order a user would want to hear
 * of a problem: folders, keys (refusing an open API beyond loopback), engines left behind by a
 * previous run, the engine (built if allowed), its workarounds, and the node's identity.
 */
export async function prepareNode(
  config: NodeConfig,
  options: EngineStartOptions & { logger?: Logger },
): Promise<NodeBasics> {
  const paths = homePaths(config.home);
  for (const folder of Object.values(paths)) await mkdir(folder, { recursive: true, mode: 0o700 });
  const logger = options.logger ?? createLogger({ file: nodeLogPath(config.home) });
  const apiKeys = await new ApiKeyStore(paths.state).load();
  const exposed = !isLoopbackHost(config.host);
  checkExposure(config, exposed, apiKeys.hasActiveKeys);
  if (config.insecureNoAuth) {
    logger.warn(
      { host: config.host },
      "INSECURE: --insecure-no-auth is set; anyone who can reach this node can use and manage it without a key (for labs only)",
    );
  } else if (exposed && !apiKeys.hasActiveKeys) {
    logger.warn(
      { host: config.host },
      "this node has no API key yet: its API answers 401 until the cluster's keys arrive",
    );
  }
  const reaped = await reapOrphanEngines(paths.run);
  if (reaped.length > 0)
    logger.warn({ pids: reaped }, "stopped engines a previous run of this node left behind");

  const engine = await prepareEngine(config, options);
  logger.info(
    { engine: engine.llamaServer, version: engine.version, backend: engine.backend },
    "engine ready to use",
  );
  const quirks = new EngineQuirks(`${paths.state}/engine-quirks.json`);
  for (const workaround of await quirks.list(engineKey(engine))) {
    logger.warn(
      { flag: workaround.flag, since: workaround.since },
      `engine workaround in effect: ${workaround.reason}`,
    );
  }

  const identity = await loadNodeIdentity(config.home, {
    name: config.name,
    joinKey: config.joinToken ? parseJoinToken(config.joinToken).key : undefined,
  });
  const token = config.joinToken ? parseJoinToken(config.joinToken) : undefined;
  return { config, paths, logger, apiKeys, exposed, engine, quirks, identity, token };
}

/**
 * Refuses to expose the API with no key: an office network must not get an open LLM server and
 * management API by accident. A node joining a cluster starts anyway (its keys come from the
 * cluster; until then it answers 401), as does one started with `--insecure-no-auth`.
 */
function checkExposure(config: NodeConfig, exposed: boolean, hasKeys: boolean): void {
  if (!exposed || hasKeys || config.insecureNoAuth || config.joinToken) return;
  throw new HerdError(
    `refusing to serve the API on ${config.host} without an API key.\n` +
      `Create one first (with no node running it is written to ${config.home}):\n` +
      `  herd keys create --scope admin --home ${config.home}\n` +
      `or serve on loopback (the default), or start with --insecure-no-auth in a lab.`,
  );
}
