import { EventEmitter } from "node:events";
import { mkdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { getRequestListener, type ServerType, serve } from "@hono/node-server";
import { createApp } from "./api/app.js";
import { ClusterNode } from "./cluster/cluster-node.js";
import { DesiredStateStore } from "./cluster/desired-state-store.js";
import { clusterIdOf, formatJoinToken, parseJoinToken } from "./cluster/join-token.js";
import { LanDiscovery } from "./cluster/lan-discovery.js";
import { clusterKeyBytes, loadNodeIdentity } from "./cluster/node-identity.js";
import { collectNodeProfile, reachableAddresses } from "./cluster/node-profile.js";
import { clusterClientTlsOptions } from "./cluster/secure-channel.js";
import { type ConfigOverrides, homePaths, loadConfig, type NodeConfig } from "./config.js";
import { buildEngine } from "./engine/build-engine.js";
import { type Backend, detectBackend } from "./engine/detect-backend.js";
import { EngineQuirks, engineKey } from "./engine/engine-quirks.js";
import { engineVocabPath } from "./engine/engine-source.js";
import { findParentDeathWrapper } from "./engine/parent-death-wrapper.js";
import { listEngineDevices } from "./engine/probe-engine.js";
import { reapOrphanEngines } from "./engine/reap-orphan-engines.js";
import { resolveEngine } from "./engine/resolve-engine.js";
import { clusterGateway } from "./inference/cluster-gateway.js";
import { forwardToNode } from "./inference/forward-to-node.js";
import { Router } from "./inference/router.js";
import { ModelStore } from "./models/model-store.js";
import { writeSynthModel } from "./models/synth-model.js";
import type { ClusterView, InstanceSummary, PlacementBasis } from "./protocol/cluster.js";
import type { BuildProgress, EngineInstall, EngineReport } from "./protocol/engine.js";
import { EngineUnavailableError, InvalidRequestError } from "./protocol/errors.js";
import type { NodeEvent } from "./protocol/events.js";
import { SynthModelRequest } from "./protocol/management.js";
import type { ModelProfile } from "./protocol/model-profile.js";
import { createLogger, type Logger } from "./util/logger.js";
import { planOnCluster, toInstancePlan } from "./worker/cluster-planning.js";
import { type LoadRequest, LocalInstances } from "./worker/local-instances.js";
import { LocalShards } from "./worker/local-shards.js";
import { PlacementKeeper } from "./worker/placement-keeper.js";
import { UpstreamRegistry } from "./worker/upstream-registry.js";

export { loadConfig, type NodeConfig };

export interface StartOptions {
  logger?: Logger;
  /** Build the engine if there is none (the default for `herd start`). Default true. */
  buildIfMissing?: boolean;
  onBuildProgress?: (progress: BuildProgress) => void;
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

export async function herdVersion(): Promise<string> {
  const text = await readFile(new URL("../package.json", import.meta.url), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}

/** Chooses the backend: the configured one, else detection. */
export async function chooseBackend(config: NodeConfig): Promise<{ backend: Backend; reason: string }> {
  if (config.backend) return { backend: config.backend, reason: "chosen with --backend" };
  return detectBackend();
}

/** Finds this node's engine, building it when allowed and absent. */
export async function prepareEngine(config: NodeConfig, options: StartOptions = {}): Promise<EngineInstall> {
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

/** Wires and starts a node: engine, model store, instances, router and the HTTP API. */
export async function startNode(
  overrides: ConfigOverrides = {},
  options: StartOptions = {},
): Promise<HerdNode> {
  const config = loadConfig(overrides);
  const paths = homePaths(config.home);
  for (const folder of Object.values(paths)) await mkdir(folder, { recursive: true, mode: 0o700 });
  const logger = options.logger ?? createLogger();
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
  const events = new EventEmitter();
  const publish = (event: NodeEvent) => {
    logger.info({ event }, event.type);
    events.emit("event", event);
  };
  const models = new ModelStore(paths.models);
  // The names heartbeats announce, so the coordinator knows which nodes can head which model.
  let modelNames = (await models.list()).map((model) => model.name);
  const modelRefresh = setInterval(() => {
    void models.list().then((list) => {
      modelNames = list.map((model) => model.name);
    });
  }, 2000);
  modelRefresh.unref();
  const desired = new DesiredStateStore(paths.state);
  await desired.load();
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
  let apiListener: ReturnType<typeof getRequestListener> | undefined;
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
    profile: () =>
      collectNodeProfile({
        engine,
        engineDevices,
        memoryLimitBytes: config.memoryLimitBytes,
        apiPort: config.port,
        clusterPort: config.clusterPort,
        herdVersion: version,
      }),
    instances: () => instanceSummaries(),
    models: () => modelNames,
    rpcServers: (name) => shards.lookup(name),
    onApiRequest: (request, response) => void apiListener?.(request, response),
    logger,
    publish,
  });
  const instances = new LocalInstances({
    nodeId: identity.id,
    cluster,
    shards,
    clusterKey: clusterKeyBytes(identity),
    endpointsOf: (node) => cluster.view().nodes.find((member) => member.id === node)?.endpoints ?? [],
    rpcServerOf: (node, name) => cluster.rpcServerOf(node, name),
    plan: (model, spec, request, excluded, draft) => {
      const view = cluster.view();
      const basis = placementBasis(model, request, view, draft);
      // This node holds the files: loads and plans start from its own store. A head needs the
      // draft's file as well as the model's.
      const holders = [...new Set([identity.id, ...cluster.nodesHolding(model.name)])].filter(
        (node) => !draft || node === identity.id || cluster.nodesHolding(draft.name).includes(node),
      );
      const details = planOnCluster(
        view,
        basis,
        {
          ...basis,
          // Other replicas' nodes: a replica runs on nodes of its own.
          avoid: [...(basis.avoid ?? []), ...excluded],
          contextSize: spec.contextSize,
          parallel: spec.parallel,
        },
        holders,
        holders.find((node) => !excluded.includes(node)) ?? identity.id,
      );
      return { plan: toInstancePlan(details, basis.rpcTransport), basis, details };
    },
    requestsOf: (instanceId) => ({ inFlight: router.load(instanceId), served: router.servedBy(instanceId) }),
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
  // Models that have served since this node started: a request for one that is down waits for its
  // recovery instead of failing.
  const servedModels = new Set<string>();
  events.on("event", (event: NodeEvent) => {
    if (event.type === "instance-state-changed" && event.state === "READY") servedModels.add(event.model);
  });
  const router: Router = new Router(
    models,
    instances,
    (model) => cluster.remoteInstances(model),
    {
      waitMs: 60_000,
      recovering: (model) => {
        for (const summary of cluster.view().instances) {
          if (summary.state === "READY") servedModels.add(summary.model);
        }
        // Wait for a model that served before (it is recovering), or one this node does not hold and
        // another node heads (the first heartbeat announcing it READY may still be on its way).
        const placed = cluster.desiredState.instances.some(
          (instance) => instance.model === model && instance.suspended === undefined,
        );
        return placed && (servedModels.has(model) || !modelNames.some((name) => name === model));
      },
    },
    clusterGateway(() => cluster.desiredState),
  );
  const app = createApp({
    models,
    instances,
    router,
    logger,
    version,
    cluster: {
      view: () => cluster.view(),
      joinToken: () =>
        formatJoinToken({ key: clusterKeyBytes(identity), addresses: cluster.introduction.endpoints }),
    },
    upstreams: new UpstreamRegistry(cluster),
    dashboardDirectory: fileURLToPath(new URL("../dashboard/dist", import.meta.url)),
    startedAt: new Date(),
    engineReport: async () => ({
      install: engine,
      workarounds: await quirks.list(engineKey(engine)),
      devices: await listEngineDevices(engine.llamaServer),
    }),
    synthesize: async (request, onProgress, signal) => {
      const shape = SynthModelRequest.parse(request);
      const vocabPath = await engineVocabPath(config.engineCache);
      const description = `synth:${shape.layers}x${shape.embedding}-ff${shape.feedForward}-h${shape.heads}/${shape.kvHeads}-${shape.type}-seed${shape.seed}${shape.blockScale ? `-scale${shape.blockScale}` : ""}`;
      const profile = await models.create(shape.name, `${shape.name}.gguf`, description, (target) =>
        writeSynthModel(
          {
            outputPath: target,
            vocabPath,
            name: shape.name,
            layerCount: shape.layers,
            embeddingLength: shape.embedding,
            feedForwardLength: shape.feedForward,
            headCount: shape.heads,
            keyValueHeadCount: shape.kvHeads,
            weightType: shape.type,
            contextLength: shape.contextLength,
            seed: shape.seed,
            blockScale: shape.blockScale,
          },
          { signal, onProgress: (progress) => onProgress(progress.writtenBytes, progress.totalBytes) },
        ).then(() => undefined),
      );
      publish({ type: "model-imported", model: profile.name });
      return profile;
    },
    forwardToNode: (route, path, body, signal) =>
      forwardToNode({
        model: (body as { model: string }).model,
        endpoints: route.endpoints,
        node: route.node,
        path,
        body,
        signal,
        tls: clusterClientTlsOptions(clusterKeyBytes(identity), identity.id),
      }),
    subscribe: (listener) => {
      events.on("event", listener);
      return () => events.off("event", listener);
    },
  });

  apiListener = getRequestListener(app.fetch);
  await cluster.start();
  const keeper = new PlacementKeeper({ self: identity.id, cluster, logger });
  keeper.start();
  const discovery = config.discovery
    ? new LanDiscovery({
        clusterId: clusterIdOf(clusterKeyBytes(identity)),
        nodeId: identity.id,
        clusterPort: config.clusterPort,
        logger,
        onPeer: (endpoint) => cluster.want(endpoint),
      })
    : undefined;
  await discovery?.start().catch((error: unknown) => {
    // Discovery is a convenience: without it, --peers and join tokens still work.
    logger.warn({ err: error }, "LAN discovery is off: cannot use its UDP port");
  });
  const server = await listen(app.fetch, config.host, config.port);
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${config.port}`;
  logger.info({ url, home: config.home }, "herd node listening");
  await instances.restore();

  let disposing: Promise<void> | undefined;
  return {
    url,
    config,
    joinToken: formatJoinToken({ key: clusterKeyBytes(identity), addresses: cluster.introduction.endpoints }),
    killEnginesNow: () => instances.killAllNow(),
    dispose: () => {
      disposing ??= (async () => {
        clearInterval(modelRefresh);
        keeper.dispose();
        await instances.dispose();
        discovery?.dispose();
        await cluster.dispose();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Streams still open (an SSE subscriber) must not hold the shutdown.
          (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
        logger.info("herd node stopped");
      })();
      return disposing;
    },
  };
}

/** What the planner needs to place (and later re-place) an instance; node names become ids. */
function placementBasis(
  model: ModelProfile,
  request: LoadRequest,
  view: ClusterView,
  draft?: ModelProfile,
): PlacementBasis {
  const resolve = (names: string[] | undefined, option: string) =>
    names?.map((name) => {
      const node = view.nodes.find((candidate) => candidate.name === name || candidate.id === name);
      if (!node)
        throw new InvalidRequestError(`no node named '${name}' in the cluster (see 'herd nodes')`, option);
      return node.id;
    });
  const placementModel = (profile: ModelProfile) => ({
    name: profile.name,
    sizeBytes: profile.sizeBytes,
    architecture: profile.architecture,
    layerCount: profile.layerCount,
    bytesPerLayer: profile.bytesPerLayer,
    nonLayerBytes: profile.nonLayerBytes,
    kvBytesPerToken: profile.kvBytesPerToken,
    embeddingLength: profile.embeddingLength,
    expertCount: profile.expertCount,
    expertUsedCount: profile.expertUsedCount,
    expertBytesPerLayer: profile.expertBytesPerLayer,
  });
  return {
    model: placementModel(model),
    draft: draft ? placementModel(draft) : undefined,
    split: request.split ?? "auto",
    rpcTransport: request.rpcTransport ?? "tunnel",
    nodes: resolve(request.nodes, "nodes"),
    avoid: resolve(request.avoid, "avoid"),
    minNodes: request.minNodes,
    maxNodes: request.maxNodes,
  };
}

/** Where peers can reach the cluster channel: the listen address, or every LAN address when it is a wildcard. */
function advertisedEndpoints(host: string, port: number): string[] {
  const wildcard = host === "0.0.0.0" || host === "::";
  const hosts = wildcard ? reachableAddresses() : [host];
  return hosts.map((address) => (address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`));
}

function listen(
  fetch: (request: Request) => Response | Promise<Response>,
  host: string,
  port: number,
): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname: host, port }, () => resolve(server));
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") {
        reject(
          new Error(`port ${port} on ${host} is in use (another herd node?); choose another with --port`),
        );
      } else reject(error);
    });
  });
}
