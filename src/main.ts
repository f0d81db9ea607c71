import { EventEmitter } from "node:events";
import { mkdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { getRequestListener, type ServerType, serve } from "@hono/node-server";
import { createApp } from "./api/app.js";
import { mapError } from "./api/error-mapping.js";
import { ResponseStore } from "./api/openai/responses/response-store.js";
import { ApiKeyStore } from "./cluster/api-key-store.js";
import { ClusterNode } from "./cluster/cluster-node.js";
import { DesiredStateStore } from "./cluster/desired-state-store.js";
import { clusterIdOf, formatJoinToken, parseJoinToken } from "./cluster/join-token.js";
import { LanDiscovery } from "./cluster/lan-discovery.js";
import { modelFileRoutes } from "./cluster/model-file-routes.js";
import { nodeHealthFacts } from "./cluster/node-health-facts.js";
import { clusterKeyBytes, loadNodeIdentity } from "./cluster/node-identity.js";
import { collectNodeProfile, reachableAddresses } from "./cluster/node-profile.js";
import { createNodeStore } from "./cluster/node-state.js";
import { readPeerLog } from "./cluster/read-peer-log.js";
import { clusterClientTlsOptions } from "./cluster/secure-channel.js";
import {
  type ConfigOverrides,
  homePaths,
  isLoopbackHost,
  loadConfig,
  type NodeConfig,
  nodeLogPath,
} from "./config.js";
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
import { recoveringModels } from "./inference/recovering-models.js";
import { Router } from "./inference/router.js";
import { AnnouncedModels } from "./models/announced-models.js";
import { HubClient } from "./models/hub-client.js";
import { ModelStore } from "./models/model-store.js";
import { ModelPuller } from "./models/pull-model.js";
import { synthesizeModel } from "./models/synthesize-model.js";
import type { CreateApiKeyRequest, CreatedApiKey } from "./protocol/api-keys.js";
import type { InstanceSummary } from "./protocol/cluster.js";
import type { BuildProgress, EngineInstall, EngineReport } from "./protocol/engine.js";
import { EngineUnavailableError, HerdError } from "./protocol/errors.js";
import type { NodeEvent } from "./protocol/events.js";
import { DisposeStack } from "./util/dispose-stack.js";
import { createLogger, type Logger } from "./util/logger.js";
import { LocalInstances } from "./worker/local-instances.js";
import { LocalShards } from "./worker/local-shards.js";
import { fitModels } from "./worker/model-fit.js";
import { modelVerifier } from "./worker/model-verifier.js";
import { nodeStopper } from "./worker/node-stopper.js";
import { PeerModelFetcher } from "./worker/peer-model-fetcher.js";
import { PlacementKeeper } from "./worker/placement-keeper.js";
import { planForLoad } from "./worker/plan-for-load.js";
import { UpstreamRegistry } from "./worker/upstream-registry.js";

export { loadConfig, type NodeConfig };

export interface StartOptions {
  logger?: Logger;
  /** Build the engine if there is none (the default for `herd start`). Default true. */
  buildIfMissing?: boolean;
  onBuildProgress?: (progress: BuildProgress) => void;
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
  const events = new EventEmitter();
  const publish = (event: NodeEvent) => {
    logger.info({ event }, event.type);
    events.emit("event", event);
  };
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
    const modelRefresh = setInterval(() => void announced.refresh(), 2000);
    modelRefresh.unref();
    stack.defer("model list refresh", () => clearInterval(modelRefresh));
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
      store,
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
      store,
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
    const router: Router = new Router(models, store, {
      recovery: {
        waitMs: 60_000,
        recovering: recoveringModels({
          cluster,
          onEvent: (listener) => events.on("event", listener),
          localModels: () => announced.names,
        }),
      },
      gateway: clusterGateway(() => cluster.desiredState),
      maxQueuePerInstance: config.maxQueuePerInstance,
    });
    // Finished Responses API responses, for previous_response_id: in this node's memory only.
    const responses = new ResponseStore();
    stack.defer("response store", () => responses.dispose());
    const app = createApp({
      models,
      instances,
      router,
      responses,
      logger,
      version,
      cluster: {
        view: () => cluster.view(),
        joinToken: () =>
          formatJoinToken({ key: clusterKeyBytes(identity), addresses: cluster.introduction.endpoints }),
      },
      logs: {
        path: nodeLogPath(config.home),
        fromNode: (node, query, signal) => {
          const member = cluster.view().nodes.find((candidate) => candidate.id === node)!;
          const key = clusterKeyBytes(identity);
          return readPeerLog({ node: member, query, key, selfId: identity.id, signal });
        },
      },
      apiKeys,
      security: {
        exposed,
        insecureNoAuth: config.insecureNoAuth,
        corsOrigins: config.corsOrigins,
        maxBodyBytes: config.maxBodyBytes,
      },
      upstreams: new UpstreamRegistry(cluster),
      dashboardDirectory: fileURLToPath(new URL("../dashboard/dist", import.meta.url)),
      autoload: config.autoload,
      startedAt: new Date(),
      engineReport: async () => ({
        install: engine,
        workarounds: await quirks.list(engineKey(engine)),
        devices: await listEngineDevices(engine.llamaServer),
      }),
      synthesize: (request, onProgress, signal) =>
        synthesizeModel(
          {
            models,
            vocabPathOf: (vocabulary) => engineVocabPath(config.engineCache, vocabulary),
            onImported: (profile) => publish({ type: "model-imported", model: profile.name }),
          },
          request,
          onProgress,
          signal,
        ),
      fit: (request, signal) =>
        fitModels(
          {
            store: models,
            hub,
            plan: (load) => instances.dryRun(load),
            planProfile: (model, load) => instances.dryRunFor(model, load),
            nodeName: (id) => cluster.view().nodes.find((node) => node.id === id)?.name ?? id,
          },
          request,
          signal,
        ),
      verify: modelVerifier({ identity, cluster, models, onVerified: () => announced.refresh() }),
      stop:
        options.onStopRequested &&
        nodeStopper({
          identity,
          cluster,
          instances,
          logger,
          onStopRequested: () => options.onStopRequested?.(),
        }),
      pull: async (request, onProgress, signal) => {
        const profile = await puller.pull(request, onProgress, signal);
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
    const server = await listen(app.fetch, config.host, config.port, config.maxHeaderBytes);
    stack.defer("API server", () => closeServer(server));
    // Ollama's own port: the same API, where `GET /` always answers as Ollama does (no dashboard).
    const ollamaServer =
      config.ollamaPort === undefined
        ? undefined
        : await listen(
            (request, env) =>
              request.method === "GET" && new URL(request.url).pathname === "/"
                ? new Response("Ollama is running", {
                    headers: { "content-type": "text/plain; charset=utf-8" },
                  })
                : app.fetch(request, env),
            config.host,
            config.ollamaPort,
            config.maxHeaderBytes,
          );
    if (ollamaServer) stack.defer("Ollama server", () => closeServer(ollamaServer));
    const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${config.port}`;
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

/** Closes an HTTP server; streams still open (an SSE subscriber) must not hold the shutdown. */
function closeServer(server: ServerType): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
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

/** Creates an API key in a HERD_HOME no node is running from; nodes load it when they start. */
export async function createApiKeyOffline(
  overrides: ConfigOverrides,
  request: CreateApiKeyRequest,
): Promise<{ created: CreatedApiKey; path: string }> {
  const config = loadConfig(overrides);
  const paths = homePaths(config.home);
  await mkdir(paths.state, { recursive: true, mode: 0o700 });
  const store = await new ApiKeyStore(paths.state).load();
  return { created: await store.create(request), path: store.path };
}

/** Where peers can reach the cluster channel: the listen address, or every LAN address when it is a wildcard. */
function advertisedEndpoints(host: string, port: number): string[] {
  const wildcard = host === "0.0.0.0" || host === "::";
  const hosts = wildcard ? reachableAddresses() : [host];
  return hosts.map((address) => (address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`));
}

/**
 * The API's HTTP server. Slow or idle clients cannot hold connections: headers must arrive within
 * 10 s and a request body within 60 s, and an idle keep-alive connection closes after 5 s. There is
 * no timeout on a response, since a generation may legitimately take minutes between tokens.
 */
function listen(
  fetch: (request: Request, env: unknown) => Response | Promise<Response>,
  host: string,
  port: number,
  maxHeaderBytes: number,
): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch,
        hostname: host,
        port,
        serverOptions: {
          maxHeaderSize: maxHeaderBytes,
          headersTimeout: 10_000,
          requestTimeout: 60_000,
          keepAliveTimeout: 5_000,
          // How often the timeouts above are checked (Node's default, 30 s, would let them run long).
          connectionsCheckingInterval: 1_000,
        },
      },
      () => resolve(server),
    );
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") {
        reject(
          new Error(`port ${port} on ${host} is in use (another herd node, or Ollama?); choose another port`),
        );
      } else reject(error);
    });
  });
}
