import { InstanceSummary, PlacedInstance } from "../protocol/cluster.js";
import { InstanceId, ModelName, NodeId } from "../protocol/ids.js";
import type { InstanceState, InstanceStatus } from "../protocol/instance.js";
import { createNodeStore, type NodeStore } from "./node-state.js";
import { testNodeProfile } from "./test-node-profile.js";

/** The node the tests' state belongs to. */
export const testSelf = NodeId.parse("10000000-0000-4000-8000-000000000000");

/** An instance of a test's node state, and where it runs. */
export interface TestInstance {
  id: string;
  model?: string;
  /** Slots. Default 1. */
  parallel?: number;
  embeddings?: boolean;
  /** Default READY. */
  state?: InstanceState;
  draining?: boolean;
  /** Headed by a peer of this name (with this node's requests on it as reported) instead of here. */
  peer?: string;
  /** Requests in flight on a peer's instance as the peer last reported, this node's own included. */
  inFlight?: number;
}

/**
 * A node's store holding `instances`: those headed here as engines that reported their state, those
 * headed by peers as the peers' last heartbeats reported them, all in the desired state. Peers
 * listed in `suspected` lost their connection after reporting.
 */
export function testNodeStore(
  instances: TestInstance[],
  options: { suspected?: string[]; self?: NodeId } = {},
): NodeStore {
  const self = options.self ?? testSelf;
  const suspected = options.suspected ?? [];
  const store = createNodeStore(self);
  const peerIds = new Map<string, NodeId>();
  const peerOf = (name: string) => {
    if (!peerIds.has(name)) {
      const id = NodeId.parse(`2000000${peerIds.size}-0000-4000-8000-000000000000`);
      peerIds.set(name, id);
      store.apply({ type: "hello-received", introduction: introduction(id, name), profile, at: 0 });
    }
    return peerIds.get(name)!;
  };
  const placed = instances.map((instance) =>
    PlacedInstance.parse({
      ...spec(instance),
      node: instance.peer ? peerOf(instance.peer) : self,
      draining: instance.draining ? "2026-01-01T00:00:00Z" : undefined,
    }),
  );
  // A node asked to run nothing is still at the first epoch, as a new cluster is.
  if (placed.length > 0) {
    store.apply({
      type: "desired-state-received",
      state: { epoch: 1, writtenBy: self, instances: placed, upstreams: [], routes: {} },
    });
  }
  for (const instance of instances.filter((each) => !each.peer)) {
    const status = statusOf(instance);
    store.apply({ type: "engine-started", instanceId: status.id, processKey: status.id, status });
    const endpoint = { baseUrl: `http://127.0.0.1:1/${instance.id}`, apiKey: "k" };
    store.apply({ type: "engine-status-changed", processKey: status.id, status, endpoint });
  }
  for (const [name, id] of peerIds) {
    const reported = instances
      .filter((instance) => instance.peer === name)
      .map((instance) =>
        InstanceSummary.parse({
          ...statusOf(instance),
          node: id,
          inFlight: instance.inFlight ?? 0,
        }),
      );
    store.apply({
      type: "heartbeat-received",
      introduction: introduction(id, name),
      profile,
      links: [],
      instances: reported,
      models: [],
      sentInFlight: new Map(),
      at: 100,
    });
    if (suspected.includes(name)) store.apply({ type: "connection-lost", nodeId: id, at: 200 });
  }
  return store;
}

const profile = testNodeProfile();

function introduction(id: NodeId, name: string) {
  return { id, name, joinedAt: 1, incarnation: "first", endpoints: [`${name}:52416`] };
}

function spec(instance: TestInstance) {
  return {
    id: InstanceId.parse(instance.id),
    model: ModelName.parse(instance.model ?? "m"),
    contextSize: 512,
    parallel: instance.parallel ?? 1,
    embeddings: instance.embeddings ?? false,
    createdAt: new Date(0).toISOString(),
  };
}

function statusOf(instance: TestInstance): InstanceStatus {
  return {
    ...spec(instance),
    state: instance.state ?? "READY",
    reason: "serving",
    since: new Date(0).toISOString(),
    restarts: 0,
    workarounds: [],
  };
}
