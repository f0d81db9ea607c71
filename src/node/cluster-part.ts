import { mapError } from "../api/error-mapping.js";
import { ClusterNode } from "../cluster/cluster-node.js";
import { DesiredStateStore } from "../cluster/desired-state-store.js";
import { modelFileRoutes } from "../cluster/model-file-routes.js";
import { NetworkInterfaceMonitor } from "../cluster/network-interfaces/network-interface-monitor.js";
import {
  interfaceReaderFor,
  listedAddresses,
} from "../cluster/network-interfaces/read-network-interfaces.js";
import { nodeHealthFacts } from "../cluster/node-health-facts.js";
import { clusterKeyBytes } from "../cluster/node-identity.js";
import { collectNodeProfile, reachableAddresses } from "../cluster/node-profile.js";
import { createNodeStore, type NodeStore } from "../cluster/node-state.js";
import { detectEngineRdma } from "../engine/detect-engine-rdma.js";
import { engineKey } from "../engine/engine-quirks.js";
import { findParentDeathWrapper } from "../engine/parent-death-wrapper.js";
import { listEngineDevices } from "../engine/probe-engine.js";
import type { DisposeStack } from "../util/dispose-stack.js";
import { endpointHost } from "../util/endpoint-host.js";
import type { RequestCounts } from "../util/request-counts.js";
import { localInstanceStatuses, localInstanceSummaries } from "../worker/local-instance-statuses.js";
import { LocalShards } from "../worker/local-shards.js";
import type { ModelParts } from "./model-parts.js";
import { calibrationCacheDirectory, NodeCalibrator } from "./node-calibration.js";
import type { NodeEvents } from "./node-events.js";
import type { NodeBasics } from "./prepare-node.js";

/** The node's state, its membership in the cluster, and the RPC shards it serves to heads elsewhere. */
export interface ClusterPart {
  store: NodeStore;
  cluster: ClusterNode;
  shards: LocalShards;
  /** The wrapper that kills an engine when this process dies, where the OS has one. */
  parentDeathWrapper: string[] | undefined;
  /** What this node measured of its engine and paths, announced in its profile; started by the wiring. */
  calibrator: NodeCalibrator;
}

export interface ClusterPartDependencies {
  basics: NodeBasics;
  version: string;
  events: NodeEvents;
  modelParts: ModelParts;
  /** This node's requests on each instance, reported in heartbeats. */
  requests: RequestCounts;
}

/**
 * Creates the node's state (with the desired state as saved when the node last ran), the cluster
 * node that keeps it in step with peers, and this node's RPC shards. The cluster node starts later,
 * once the API it forwards requests to exists.
 */
export async function createClusterPart(
  { basics, version, events, modelParts, requests }: ClusterPartDependencies,
  stack: DisposeStack,
): Promise<ClusterPart> {
  const { config, paths, logger, apiKeys, exposed, engine, quirks, identity, token } = basics;
  const desired = new DesiredStateStore(paths.state);
  const store = createNodeStore(identity.id, await desired.load());
  const engineDevices = await listEngineDevices(engine.llamaServer).catch(() => []);
  const engineRdma = await detectEngineRdma(engine);
  // Created below, once the parts it reads exist; the interface monitor tells it of changes.
  let cluster: ClusterNode | undefined;
  const interfaces = stack.use(
    "network interface monitor",
    new NetworkInterfaceMonitor({
      read: interfaceReaderFor(process.platform),
      // Linux reads a few sysfs files: often enough that a pulled cable re-places its split within
      // seconds. Elsewhere the read runs a command (ifconfig), so less often, and the addresses Node
      // lists (no command) are looked at every 2 s: a cable that comes or goes changes them.
      refreshMs: process.platform === "linux" ? 2000 : 10_000,
      ...(process.platform === "linux" ? {} : { watch: listedAddresses }),
      onError: (error) => logger.warn({ err: error }, "could not read this machine's network interfaces"),
      // A cable plugged or pulled reaches the profile, and the peers, at once rather than at the next sample.
      onChange: () => cluster?.sampleProfile(),
    }),
  );
  await interfaces.start();
  const parentDeathWrapper = await findParentDeathWrapper();
  const advertised = advertisedEndpoints(config.clusterHost, config.clusterPort);
  const calibrator = new NodeCalibrator({
    selfId: identity.id,
    engine,
    stateDirectory: paths.state,
    cacheDirectory: calibrationCacheDirectory(config.home),
    engineCache: config.engineCache,
    workarounds: async () => (await quirks.list(engineKey(engine))).map((workaround) => workaround.flag),
    instances: () => localInstanceStatuses(store.current),
    selfMeasure: config.calibrate,
    threads: config.engineThreads,
    logger,
  });
  const shards = new LocalShards({
    nodeId: identity.id,
    engine: async () => engine,
    home: config.home,
    logDirectory: paths.logs,
    runDirectory: paths.run,
    logger,
    parentDeathWrapper,
    store,
    directHost: advertised[0] === undefined ? "127.0.0.1" : endpointHost(advertised[0]),
    engineThreads: config.engineThreads,
  });
  cluster = new ClusterNode({
    id: identity.id,
    name: identity.name,
    key: clusterKeyBytes(identity),
    host: config.clusterHost,
    port: config.clusterPort,
    advertise: advertised,
    peers: [...config.peers, ...(token?.addresses ?? [])],
    desired,
    store,
    apiKeys,
    profile: () =>
      collectNodeProfile({
        engine,
        engineDevices,
        engineRdma,
        interfaces: interfaces.current(),
        memoryLimitBytes: config.memoryLimitBytes,
        apiPort: config.port,
        clusterPort: config.clusterPort,
        herdVersion: version,
        health: nodeHealthFacts({
          modelsDirectory: paths.models,
          apiExposed: exposed,
          authDisabled: config.insecureNoAuth,
          corruptModels: modelParts.announced.corrupt,
        }),
        calibration: calibrator.current(),
      }),
    instances: () => localInstanceSummaries(store.current, requests),
    sentInFlight: (instanceId) => requests.inFlight(instanceId),
    models: () => modelParts.announced.names,
    rpcServers: (name) => shards.lookup(name),
    routes: modelFileRoutes(modelParts.models),
    mapError,
    logger,
    publish: events.publish,
  });
  return { store, cluster, shards, parentDeathWrapper, calibrator };
}

/** Where peers can reach the cluster channel: the listen address, or every LAN address when it is a wildcard. */
function advertisedEndpoints(host: string, port: number): string[] {
  const wildcard = host === "0.0.0.0" || host === "::";
  const hosts = wildcard ? reachableAddresses() : [host];
  return hosts.map((address) => (address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`));
}
