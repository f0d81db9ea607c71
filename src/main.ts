import { getRequestListener } from "@hono/node-server";
import { mapError } from "./api/error-mapping.js";
import { ResponseStore } from "./api/openai/responses/response-store.js";
import { ClusterNode } from "./cluster/cluster-node.js";
import { DesiredStateStore } from "./cluster/desired-state-store.js";
import { clusterIdOf, formatJoinToken } from "./cluster/join-token.js";
import { LanDiscovery } from "./cluster/lan-discovery.js";
import { modelFileRoutes } from "./cluster/model-file-routes.js";
import { nodeHealthFacts } from "./cluster/node-health-facts.js";
import { clusterKeyBytes } from "./cluster/node-identity.js";
import { collectNodeProfile, reachableAddresses } from "./cluster/node-profile.js";
import { createNodeStore } from "./cluster/node-state.js";
import { type ConfigOverrides, loadConfig, type NodeConfig } from "./config.js";
import { findParentDeathWrapper } from "./engine/parent-death-wrapper.js";
import { listEngineDevices } from "./engine/probe-engine.js";
import { clusterAliases } from "./inference/cluster-aliases.js";
import { clusterGateway } from "./inference/cluster-gateway.js";
import { recoveringModels } from "./inference/recovering-models.js";
import { Router } from "./inference/router.js";
import { AnnouncedModels } from "./models/announced-models.js";
import { HubClient } from "./models/hub-client.js";
import { ModelStore } from "./models/model-store.js";
import { ModelPuller } from "./models/pull-model.js";
import { serveApi } from "./node/api-servers.js";
import { createNodeApp } from "./node/node-app.js";
import { type EngineStartOptions, herdVersion } from "./node/node-engine.js";
import { createNodeEvents } from "./node/node-events.js";
import { prepareNode } from "./node/prepare-node.js";
import type { InstanceSummary } from "./protocol/cluster.js";
import { DisposeStack } from "./util/dispose-stack.js";
import type { Logger } from "./util/logger.js";
import { AliasKeeper } from "./worker/alias-keeper.js";
import { LocalInstances } from "./worker/local-instances.js";
import { LocalShards } from "./worker/local-shards.js";
import { PeerModelFetcher } from "./worker/peer-model-fetcher.js";
import { PlacementKeeper } from "./worker/placement-keeper.js";
import { planForLoad } from "./worker/plan-for-load.js";

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

/** Wires and starts a node: engine, model store, instances, router and the HTTP API. */
export async function startNode(
  overrides: ConfigOverrides = {},
  options: StartOptions = {},
): Promise<HerdNode> {
  const config = loadConfig(overrides);
  const basics = await prepareNode(config, options);
  const { paths, logger, apiKeys, exposed, engine, quirks, identity, token } = basics;
  const events = createNodeEvents(logger);
  const publish = events.publish;
  const models = new ModelStore(paths.models);
  const hub = new HubClient(config.hub);
  const puller = new ModelPuller({ store: models, hub, logger, offline: config.hub.offline });
  const announced = new AnnouncedModels(models);
  await announced.refresh();
  // Every part registers its clean-up as it starts: a failed start and a shutdown unwind alike.
  const stack = new DisposeStack((name, error) =>
    logger.warn({ err: error }, `${name} did not stop cleanly`),
  );
  // Registered first, so it runs last.
  stack.defer("log", () => logger.info("herd node stopped"));
  try {
    announced.follow((error) => logger.warn({ err: error }, "cannot follow the model store for changes"));
    stack.defer("model store watch", () => announced.dispose());
    const desired = new DesiredStateStore(paths.state);
    // The node's one state: membership, links, reports and the desired state, as saved when it last ran.
    const store = createNodeStore(identity.id, await desired.load());
    const version = await herdVersion();
    const engineDevices = await listEngineDevices(engine.llamaServer).catch(() => []);
    const parentDeathWrapper = await findParentDeathWrapper();
    const shards = new LocalShards({
      nodeId: identity.id,
      engine: async () => engine,
      home: config.home,
      logDirectory: paths.logs,
      runDirectory: paths.run,
      logger,
      parentDeathWrapper,
      onChange: () => {},
      directHost:
        advertisedEndpoints(config.clusterHost, config.clusterPort)[0]
          ?.replace(/:\d+$/, "")
          .replace(/^\[|\]$/g, "") ?? "127.0.0.1",
    });
    // Filled in below; heartbeats and forwarded requests only start once the cluster node is started.
    let forwardedListener: ReturnType<typeof getRequestListener> | undefined;
    let instanceSummaries: () => InstanceSummary[] = () => [];
    const cluster = new ClusterNode({
      id: identity.id,
      name: identity.name,
      key: clusterKeyBytes(identity),
      host: config.clusterHost,
      port: config.clusterPort,
      advertise: advertisedEndpoints(config.clusterHost, config.clusterPort),
      peers: [...config.peers, ...(token?.addresses ?? [])],
      desired,
      store,
      apiKeys,
      profile: () =>
        collectNodeProfile({
          engine,
          engineDevices,
          memoryLimitBytes: config.memoryLimitBytes,
          apiPort: config.port,
          clusterPort: config.clusterPort,
          herdVersion: version,
          health: nodeHealthFacts({
            modelsDirectory: paths.models,
            apiExposed: exposed,
            authDisabled: config.insecureNoAuth,
            corruptModels: announced.corrupt,
          }),
        }),
      instances: () => instanceSummaries(),
      sentInFlight: (instanceId) => router.load(instanceId),
      models: () => announced.names,
      rpcServers: (name) => shards.lookup(name),
      routes: modelFileRoutes(models),
      onApiRequest: (request, response) => void forwardedListener?.(request, response),
      mapError,
      logger,
      publish,
    });
    const peerModels = new PeerModelFetcher({
      selfId: identity.id,
      key: clusterKeyBytes(identity),
      store: models,
      holders: (model) =>
        cluster
          .nodesHolding(model)
          .flatMap((id) => cluster.view().nodes.filter((member) => member.id === id && id !== identity.id)),
      logger,
    });
    const instances = new LocalInstances({
      nodeId: identity.id,
      cluster,
      shards,
      clusterKey: clusterKeyBytes(identity),
      endpointsOf: (node) => cluster.view().nodes.find((member) => member.id === node)?.endpoints ?? [],
      rpcServerOf: (node, name) => cluster.rpcServerOf(node, name),
      plan: planForLoad(identity.id, cluster),
      obtainModel: (name, signal, report) => peerModels.obtain(name, signal, report),
      requestsOf: (instanceId) => ({
        inFlight: router.load(instanceId),
        served: router.servedBy(instanceId),
      }),
      warmup: config.warmup,
      logDirectory: paths.logs,
      runDirectory: paths.run,
      models,
      engine: async () => engine,
      quirks,
      logger,
      parentDeathWrapper,
      publish,
    });
    instanceSummaries = () => instances.summaries();
    const router: Router = new Router(models, instances, {
      remote: (model) => cluster.remoteInstances(model),
      recovery: {
        waitMs: 60_000,
        recovering: recoveringModels({
          cluster,
          onEvent: events.subscribe,
          localModels: () => announced.names,
        }),
      },
      gateway: clusterGateway(() => cluster.desiredState),
      maxQueuePerInstance: config.maxQueuePerInstance,
      aliases: clusterAliases({
        desired: () => cluster.desiredState,
        isReady: (model, localOnly) =>
          instances.ready(model).length > 0 || (!localOnly && cluster.remoteInstances(model).length > 0),
      }),
    });
    // Finished Responses API responses, for previous_response_id: in this node's memory only.
    const responses = new ResponseStore();
    stack.defer("response store", () => responses.dispose());
    const app = createNodeApp({
      basics,
      version,
      events,
      models,
      hub,
      puller,
      announced,
      cluster,
      instances,
      router,
      responses,
      onStopRequested: options.onStopRequested,
    });

    // Requests from other nodes arrive over the cluster channel, already authenticated by the cluster
    // key; the flag lives in the server-side bindings, which no client header can set.
    forwardedListener = getRequestListener((request, env) =>
      app.fetch(request, { ...env, herdClusterForwarded: true }),
    );
    await cluster.start();
    stack.use("cluster", cluster);
    // Engines stop before the cluster node that announces them.
    stack.use("instances", instances);
    const keeper = stack.use("placement keeper", new PlacementKeeper({ self: identity.id, cluster, logger }));
    keeper.start();
    const aliasKeeper = stack.use(
      "alias keeper",
      new AliasKeeper({
        cluster,
        onChange: (listener) => store.subscribe(listener),
        profile: (model) => models.get(model),
        plan: (profile) => void instances.dryRunFor(profile, { model: profile.name }),
        load: (model) => instances.load({ model }),
        drain: (instanceId) => instances.drain({ instance: instanceId }),
        publish,
        logger,
      }),
    );
    aliasKeeper.start();
    const discovery = config.discovery
      ? new LanDiscovery({
          clusterId: clusterIdOf(clusterKeyBytes(identity)),
          nodeId: identity.id,
          clusterPort: config.clusterPort,
          logger,
          onPeer: (endpoint) => cluster.want(endpoint),
        })
      : undefined;
    if (discovery) stack.use("discovery", discovery);
    await discovery?.start().catch((error: unknown) => {
      // Discovery is a convenience: without it, --peers and join tokens still work.
      logger.warn({ err: error }, "LAN discovery is off: cannot use its UDP port");
    });
    const url = await serveApi(app.fetch, config, stack);
    logger.info({ url, home: config.home }, "herd node listening");
    await instances.restore();

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

/** Where peers can reach the cluster channel: the listen address, or every LAN address when it is a wildcard. */
function advertisedEndpoints(host: string, port: number): string[] {
  const wildcard = host === "0.0.0.0" || host === "::";
  const hosts = wildcard ? reachableAddresses() : [host];
  return hosts.map((address) => (address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`));
}
