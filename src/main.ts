import { getRequestListener } from "@hono/node-server";
import { ResponseStore } from "./api/openai/responses/response-store.js";
import { formatJoinToken } from "./cluster/join-token.js";
import { clusterKeyBytes } from "./cluster/node-identity.js";
import { type ConfigOverrides, loadConfig, type NodeConfig } from "./config.js";
import { createAliasKeeper } from "./node/alias-keeper-part.js";
import { serveApi } from "./node/api-servers.js";
import { createClusterPart } from "./node/cluster-part.js";
import { createInstanceParts } from "./node/instance-parts.js";
import { createModelParts } from "./node/model-parts.js";
import { createNodeApp } from "./node/node-app.js";
import { type EngineStartOptions, herdVersion } from "./node/node-engine.js";
import { createNodeEvents } from "./node/node-events.js";
import { prepareNode } from "./node/prepare-node.js";
import { startDiscovery } from "./node/start-discovery.js";
import { DisposeStack } from "./util/dispose-stack.js";
import type { Logger } from "./util/logger.js";
import { RequestCounts } from "./util/request-counts.js";
import { PlacementKeeper } from "./worker/placement-keeper.js";

export { calibrateLocalEngine } from "./node/node-calibration.js";
export {
  buildEngineForMachine,
  chooseBackend,
  herdVersion,
  localEngineReport,
  prepareEngine,
} from "./node/node-engine.js";
export { createApiKeyOffline } from "./node/offline-api-key.js";
export { loadConfig, type NodeConfig };

export interface StartOptions extends EngineStartOptions {
  logger?: Logger;
  /** Stops the process the way Ctrl-C does (`herd stop`); without it the node cannot be stopped through its API. */
  onStopRequested?: () => void;
}

/** A running node. */
export interface HerdNode {
  url: string;
  /** The secret other machines need to join: `herd start --join <token>`. */
  joinToken: string;
  config: NodeConfig;
  dispose(): Promise<void>;
  /** Kills engines synchronously, for `process.on("exit")`. */
  killEnginesNow(): void;
}

/**
 * Wires and starts a node, part by part in the order they depend on each other: what it needs
 * before anything runs, its models, its state and cluster membership, its instances and router,
 * its API; then the cluster channel, recovery, discovery and the API's ports open, and the
 * instances the desired state lists here start.
 */
export async function startNode(
  overrides: ConfigOverrides = {},
  options: StartOptions = {},
): Promise<HerdNode> {
  const config = loadConfig(overrides);
  const basics = await prepareNode(config, options);
  const { logger, identity } = basics;
  // Every part registers its clean-up as it starts: a failed start and a shutdown unwind alike.
  const stack = new DisposeStack((name, error) =>
    logger.warn({ err: error }, `${name} did not stop cleanly`),
  );
  // Registered first, so it runs last.
  stack.defer("log", () => logger.info("herd node stopped"));
  try {
    const events = createNodeEvents(logger);
    const requests = new RequestCounts();
    const version = await herdVersion();
    const modelParts = await createModelParts(basics, stack);
    const clusterPart = await createClusterPart({ basics, version, events, modelParts, requests }, stack);
    const { cluster } = clusterPart;
    const { instances, router } = createInstanceParts({ basics, events, modelParts, clusterPart, requests });
    const responses = stack.use("response store", new ResponseStore());
    const app = createNodeApp({
      basics,
      version,
      events,
      ...modelParts,
      cluster,
      instances,
      router,
      responses,
      onStopRequested: options.onStopRequested,
    });
    // Requests from other nodes arrive over the cluster channel, already authenticated by the cluster
    // key; the flag lives in the server-side bindings, which no client header can set.
    const forwarded = getRequestListener((request, env) =>
      app.fetch(request, { ...env, herdClusterForwarded: true }),
    );
    await cluster.start({ onApiRequest: (request, response) => void forwarded(request, response) });
    stack.use("cluster", cluster);
    // Engines stop before the cluster node that announces them.
    stack.use("instances", instances);
    stack.use("placement keeper", new PlacementKeeper({ self: identity.id, cluster, logger })).start();
    stack
      .use("alias keeper", createAliasKeeper({ basics, events, modelParts, clusterPart, instances }))
      .start();
    await startDiscovery(basics, cluster, stack);
    const url = await serveApi(app.fetch, config, stack);
    logger.info({ url, home: config.home }, "herd node listening");
    await instances.restore();
    // In the background: it never delays the start, and waits while instances load.
    await clusterPart.calibrator.start();
    stack.defer("calibration", () => clusterPart.calibrator.dispose());
    return {
      url,
      config,
      joinToken: formatJoinToken({
        key: clusterKeyBytes(identity),
        addresses: cluster.introduction.endpoints,
      }),
      killEnginesNow: () => instances.killAllNow(),
      dispose: () => stack.dispose(),
    };
  } catch (error) {
    // Without all its parts the node is of no use: stop what already runs, so the process can exit.
    await stack.dispose();
    throw error;
  }
}
