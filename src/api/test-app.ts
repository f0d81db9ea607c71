import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hono } from "hono";
import { ApiKeyStore } from "../cluster/api-key-store.js";
import { clusterView } from "../cluster/cluster-view.js";
import { DesiredStateStore } from "../cluster/desired-state-store.js";
import { DesiredStateSync } from "../cluster/desired-state-sync.js";
import { testNodeProfile } from "../cluster/test-node-profile.js";
import { type TestInstance, testNodeStore } from "../cluster/test-node-state.js";
import { EngineQuirks } from "../engine/engine-quirks.js";
import { Router } from "../inference/router.js";
import { ModelStore } from "../models/model-store.js";
import { EngineUnavailableError } from "../protocol/errors.js";
import type { NodeEvent } from "../protocol/events.js";
import { NodeId } from "../protocol/ids.js";
import { silentLogger } from "../util/logger.js";
import { LocalInstances } from "../worker/local-instances.js";
import { LocalShards } from "../worker/local-shards.js";
import { UpstreamRegistry } from "../worker/upstream-registry.js";
import type { ApiDependencies } from "./api-dependencies.js";
import { createApp } from "./app.js";
import { ResponseStore } from "./openai/responses/response-store.js";

export const engineMissing = new EngineUnavailableError(
  "no llama-server in unit tests",
  "run 'herd engine build' to build one",
);

export interface TestApp {
  app: Hono;
  directory: string;
  models: ModelStore;
  instances: LocalInstances;
  apiKeys: ApiKeyStore;
  events: NodeEvent[];
  dispose(): Promise<void>;
}

/**
 * The node's HTTP app in-process over a real model store, real instance manager and real key store
 * in a temporary folder, with no engine: only paths that never reach an engine answer normally.
 */
export async function createTestApp(
  overrides: Partial<Pick<ApiDependencies, "security" | "forwardToNode" | "pull">> & {
    maxQueuePerInstance?: number;
    /** Instances headed on other (imaginary) nodes, READY as their heads last reported. */
    elsewhere?: Array<TestInstance & { peer: string }>;
  } = {},
): Promise<TestApp> {
  const directory = await mkdtemp(join(tmpdir(), "herd-app-"));
  const events: NodeEvent[] = [];
  const listeners = new Set<(event: NodeEvent) => void>();
  const publish = (event: NodeEvent) => {
    events.push(event);
    for (const listener of listeners) listener(event);
  };
  const models = new ModelStore(join(directory, "models"));
  const apiKeys = await new ApiKeyStore(join(directory, "state")).load();
  const self = NodeId.parse("node-under-test");
  // A lone node with imaginary peers' instances: it joined first, so it coordinates and applies
  // every change itself.
  const store = testNodeStore(overrides.elsewhere ?? [], { self });
  store.apply({
    type: "hello-received",
    introduction: { id: self, name: "alone", joinedAt: 0, incarnation: "test", endpoints: [] },
    profile: testNodeProfile(),
    at: Date.now(),
  });
  const desired = new DesiredStateSync({
    self,
    key: Buffer.alloc(32),
    store,
    saved: new DesiredStateStore(join(directory, "state")),
    broadcast: () => {},
    publish,
  });
  const instances = new LocalInstances({
    nodeId: self,
    store,
    cluster: desired,
    shards: new LocalShards({
      nodeId: self,
      engine: async () => {
        throw engineMissing;
      },
      home: directory,
      logDirectory: join(directory, "logs"),
      runDirectory: join(directory, "run"),
      logger: silentLogger(),
      store,
      directHost: "127.0.0.1",
    }),
    clusterKey: Buffer.alloc(32),
    endpointsOf: () => [],
    rpcServerOf: async () => undefined,
    logDirectory: join(directory, "logs"),
    runDirectory: join(directory, "run"),
    models,
    engine: async () => {
      throw engineMissing;
    },
    quirks: new EngineQuirks(join(directory, "quirks.json")),
    logger: silentLogger(),
    publish,
  });
  const app = createApp({
    models,
    instances,
    router: new Router(models, store, { maxQueuePerInstance: overrides.maxQueuePerInstance }),
    responses: new ResponseStore(),
    logger: silentLogger(),
    engineReport: async () => {
      throw engineMissing;
    },
    synthesize: async () => {
      throw engineMissing;
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    upstreams: new UpstreamRegistry(desired, {}),
    forwardToNode:
      overrides.forwardToNode ??
      (async () => {
        throw new Error("no other nodes in this test");
      }),
    version: "0.0.0-test",
    startedAt: new Date(),
    cluster: {
      view: () => clusterView(store.current, instances.summaries(), Date.now()),
      joinToken: () => "herd1.test",
    },
    apiKeys,
    pull: overrides.pull,
    security: overrides.security ?? {
      exposed: false,
      insecureNoAuth: false,
      corsOrigins: [],
      maxBodyBytes: 1024 * 1024,
    },
  });
  return {
    app,
    directory,
    models,
    instances,
    apiKeys,
    events,
    dispose: async () => {
      await instances.dispose();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
