import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hono } from "hono";
import { ApiKeyStore } from "../cluster/api-key-store.js";
import { applyDesiredChange } from "../cluster/apply-desired-change.js";
import type { NodeStore } from "../cluster/node-state.js";
import { type TestInstance, testNodeStore } from "../cluster/test-node-state.js";
import { EngineQuirks } from "../engine/engine-quirks.js";
import { Router } from "../inference/router.js";
import { ModelStore } from "../models/model-store.js";
import type { DesiredChange, DesiredState } from "../protocol/cluster.js";
import { EngineUnavailableError } from "../protocol/errors.js";
import type { NodeEvent } from "../protocol/events.js";
import { NodeId } from "../protocol/ids.js";
import { silentLogger } from "../util/logger.js";
import { type DesiredStateSource, LocalInstances } from "../worker/local-instances.js";
import { LocalShards } from "../worker/local-shards.js";
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
  const models = new ModelStore(join(directory, "models"));
  const apiKeys = await new ApiKeyStore(join(directory, "state")).load();
  const store = testNodeStore(overrides.elsewhere ?? [], { self: NodeId.parse("node-under-test") });
  const instances = new LocalInstances({
    nodeId: NodeId.parse("node-under-test"),
    store,
    cluster: new DesiredStateInMemory(store),
    shards: new LocalShards({
      nodeId: NodeId.parse("node-under-test"),
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
    publish: (event) => events.push(event),
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
    subscribe: () => () => {},
    forwardToNode:
      overrides.forwardToNode ??
      (async () => {
        throw new Error("no other nodes in this test");
      }),
    version: "0.0.0-test",
    startedAt: new Date(),
    cluster: {
      view: () => ({
        self: NodeId.parse("node-under-test"),
        coordinator: NodeId.parse("node-under-test"),
        epoch: 0,
        nodes: [],
        links: [],
        desired: { epoch: 0, writtenBy: null, instances: [], upstreams: [], routes: {} },
        instances: [],
      }),
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

/** The desired state of a one-node cluster, in the node's store. */
class DesiredStateInMemory implements DesiredStateSource {
  private readonly listeners = new Set<(state: DesiredState) => void>();

  constructor(private readonly store: NodeStore) {}

  get desiredState(): DesiredState {
    return this.store.current.desired;
  }

  async changeDesired(change: DesiredChange): Promise<DesiredState> {
    const state = {
      ...applyDesiredChange(this.desiredState, change),
      epoch: this.desiredState.epoch + 1,
      writtenBy: null,
    };
    this.store.apply({ type: "desired-state-received", state });
    for (const listener of this.listeners) listener(this.desiredState);
    return this.desiredState;
  }

  onDesiredState(listener: (state: DesiredState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
