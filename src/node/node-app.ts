import { fileURLToPath } from "node:url";
import type { Hono } from "hono";
import { createApp } from "../api/app.js";
import type { ResponseStore } from "../api/openai/responses/response-store.js";
import type { ClusterNode } from "../cluster/cluster-node.js";
import { formatJoinToken } from "../cluster/join-token.js";
import { clusterKeyBytes } from "../cluster/node-identity.js";
import { readPeerLog } from "../cluster/read-peer-log.js";
import { clusterClientTlsOptions } from "../cluster/secure-channel.js";
import { nodeLogPath } from "../config.js";
import { engineKey } from "../engine/engine-quirks.js";
import { engineVocabPath } from "../engine/engine-source.js";
import { listEngineDevices } from "../engine/probe-engine.js";
import { forwardToNode } from "../inference/forward-to-node.js";
import type { Router } from "../inference/router.js";
import type { AnnouncedModels } from "../models/announced-models.js";
import type { HubClient } from "../models/hub-client.js";
import type { ModelStore } from "../models/model-store.js";
import type { ModelPuller } from "../models/pull-model.js";
import { synthesizeModel } from "../models/synthesize-model.js";
import { AliasRegistry } from "../worker/alias-registry.js";
import type { LocalInstances } from "../worker/local-instances.js";
import { fitModels } from "../worker/model-fit.js";
import { modelVerifier } from "../worker/model-verifier.js";
import { nodeStopper } from "../worker/node-stopper.js";
import { UpstreamRegistry } from "../worker/upstream-registry.js";
import type { NodeEvents } from "./node-events.js";
import type { NodeBasics } from "./prepare-node.js";

/** The running parts of a node that its API serves from. */
export interface NodeAppParts {
  basics: NodeBasics;
  version: string;
  events: NodeEvents;
  models: ModelStore;
  hub: HubClient;
  puller: ModelPuller;
  announced: AnnouncedModels;
  cluster: ClusterNode;
  instances: LocalInstances;
  router: Router;
  /** Finished Responses API responses, for previous_response_id: in this node's memory only. */
  responses: ResponseStore;
  /** Stops the process the way Ctrl-C does; without it the node cannot be stopped through its API. */
  onStopRequested?: () => void;
}

/** The node's HTTP API (every protocol, management, the dashboard) over its running parts. */
export function createNodeApp(parts: NodeAppParts): Hono {
  const { basics, version, events, models, hub, puller, announced, cluster, instances, router, responses } =
    parts;
  const { config, logger, identity, apiKeys, exposed, engine, quirks } = basics;
  const { onStopRequested } = parts;
  return createApp({
    models,
    instances,
    router,
    responses,
    logger,
    version,
    cluster: {
      view: () => cluster.view(),
      probeTraffic: () => cluster.probeTraffic(),
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
    aliases: new AliasRegistry({
      cluster,
      modelNames: () => [
        ...announced.names,
        ...[...cluster.state.reports.values()].flatMap((report) => report.models),
      ],
      resolve: (name) => router.resolveAlias(name),
    }),
    dashboardDirectory: fileURLToPath(new URL("../../dashboard/dist", import.meta.url)),
    autoload: config.autoload,
    failoverTimeoutMs: config.failoverTimeoutMs,
    streamGatherMs: config.streamGatherMs,
    publish: (event) => events.publish(event),
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
          onImported: (profile) => events.publish({ type: "model-imported", model: profile.name }),
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
      onStopRequested &&
      nodeStopper({
        identity,
        cluster,
        instances,
        logger,
        onStopRequested: () => onStopRequested?.(),
      }),
    pull: async (request, onProgress, signal) => {
      const profile = await puller.pull(request, onProgress, signal);
      events.publish({ type: "model-imported", model: profile.name });
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
    subscribe: events.subscribe,
  });
}
