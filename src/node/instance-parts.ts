import { clusterKeyBytes } from "../cluster/node-identity.js";
import { readyInstances } from "../inference/choose-instance.js";
import { clusterAliases } from "../inference/cluster-aliases.js";
import { clusterGateway } from "../inference/cluster-gateway.js";
import { recoveringModels } from "../inference/recovering-models.js";
import { Router } from "../inference/router.js";
import type { RequestCounts } from "../util/request-counts.js";
import { LocalInstances } from "../worker/local-instances.js";
import { PeerModelFetcher } from "../worker/peer-model-fetcher.js";
import { planForLoad } from "../worker/plan-for-load.js";
import type { ClusterPart } from "./cluster-part.js";
import type { ModelParts } from "./model-parts.js";
import type { NodeEvents } from "./node-events.js";
import type { NodeBasics } from "./prepare-node.js";

/** The engines this node heads, and the router that sends each request to an instance. */
export interface InstanceParts {
  instances: LocalInstances;
  router: Router;
}

export interface InstancePartsDependencies {
  basics: NodeBasics;
  events: NodeEvents;
  modelParts: ModelParts;
  clusterPart: ClusterPart;
  requests: RequestCounts;
}

/** How long a request for a model that is being placed again waits for it before it fails. */
const recoveryWaitMs = 60_000;

/** Creates the instances this node runs (following the desired state once restored) and the router. */
export function createInstanceParts({
  basics,
  events,
  modelParts,
  clusterPart,
  requests,
}: InstancePartsDependencies): InstanceParts {
  const { config, paths, logger, engine, quirks, identity } = basics;
  const { models, announced } = modelParts;
  const { store, cluster, shards, parentDeathWrapper } = clusterPart;
  const nodeOf = (id: string) => cluster.view().nodes.find((member) => member.id === id);
  const peerModels = new PeerModelFetcher({
    selfId: identity.id,
    key: clusterKeyBytes(identity),
    store: models,
    holders: (model) =>
      cluster.nodesHolding(model).flatMap((id) => {
        const node = id === identity.id ? undefined : nodeOf(id);
        return node ? [node] : [];
      }),
    logger,
  });
  const instances = new LocalInstances({
    nodeId: identity.id,
    store,
    cluster,
    shards,
    clusterKey: clusterKeyBytes(identity),
    endpointsOf: (node) => nodeOf(node)?.endpoints ?? [],
    rpcServerOf: (node, name) => cluster.rpcServerOf(node, name),
    onShardsReachable: (plan, endpoints, signal) => {
      // The paths about to carry shards get a fresh throughput figure (within the probe budget).
      for (const node of new Set(plan.rpcNodes)) if (node !== identity.id) cluster.refreshPaths(node);
      return clusterPart.calibrator.measureHops(plan, endpoints, signal);
    },
    plan: planForLoad(identity.id, cluster),
    obtainModel: (name, signal, report) => peerModels.obtain(name, signal, report),
    requests,
    warmup: config.warmup,
    engineThreads: config.engineThreads,
    logDirectory: paths.logs,
    runDirectory: paths.run,
    models,
    engine: async () => engine,
    quirks,
    logger,
    parentDeathWrapper,
    publish: events.publish,
  });
  const router = new Router(models, store, {
    recovery: {
      waitMs: recoveryWaitMs,
      recovering: recoveringModels({
        cluster,
        onEvent: events.subscribe,
        localModels: () => announced.names,
      }),
    },
    gateway: clusterGateway(() => cluster.desiredState),
    maxQueuePerInstance: config.maxQueuePerInstance,
    counts: requests,
    aliases: clusterAliases({
      desired: () => store.current.desired,
      isReady: (model, localOnly) => readyInstances(store.current, model, localOnly).length > 0,
    }),
  });
  return { instances, router };
}
