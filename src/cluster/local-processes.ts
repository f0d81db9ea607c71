import type { EngineEndpoint } from "../engine/llama-server-supervisor.js";
import { assertNever } from "../protocol/events.js";
import type { InstanceId } from "../protocol/ids.js";
import type { InstanceStats, InstanceStatus } from "../protocol/instance.js";

/** An engine (llama-server) this node runs for an instance it heads. */
export interface LocalEngine {
  /** What the engine was started for (`processKey` of the placed instance): a new key means a restart. */
  readonly processKey: string;
  /** Its last status, as its supervisor reported it. */
  readonly status: InstanceStatus;
  /** Where requests go; only while READY. */
  readonly endpoint?: EngineEndpoint;
}

/** An RPC server (ggml-rpc-server) this node runs for one shard of a distributed instance. */
export interface LocalShard {
  readonly host: string;
  /** Where it listens, once it does. */
  readonly port?: number;
  readonly ready: boolean;
  /** What its client's connection runs on, as its log says: `rdma (active)`, `tcp (rdma failed: ...)`, `tcp`. */
  readonly rpc?: string;
}

/** This node's own processes. */
export interface LocalProcesses {
  readonly engines: ReadonlyMap<InstanceId, LocalEngine>;
  /** By shard name (`shardName`). */
  readonly shards: ReadonlyMap<string, LocalShard>;
  /**
   * Tunnel connections open to each shard name: a head's llama-server holds them while it runs, and
   * a shard no longer wanted waits for them to close. Kept by name beyond the shard's own entry.
   */
  readonly shardConnections: ReadonlyMap<string, number>;
}

/** Facts, in the past tense, about this node's own processes. */
export type LocalProcessEvent =
  | { type: "engine-started"; instanceId: InstanceId; processKey: string; status: InstanceStatus }
  /** Its supervisor reported a new state (LOADING, READY, FAILED with the exit, restarting...). */
  /** `processKey`: what the reporting engine was started for, so a replaced one's late words are told apart. */
  | { type: "engine-status-changed"; processKey: string; status: InstanceStatus; endpoint?: EngineEndpoint }
  /** Its stats sampler read the engine's counters again. */
  | { type: "engine-stats-sampled"; instanceId: InstanceId; processKey: string; stats: InstanceStats }
  /** It was asked to stop (unloaded, placed elsewhere, restarted with a new plan, the node stopping). */
  | { type: "engine-stopped"; instanceId: InstanceId }
  | { type: "shard-started"; name: string; host: string }
  | { type: "shard-ready"; name: string; port: number }
  /** Its RPC server exited unasked; its supervisor starts it again. */
  | { type: "shard-failed"; name: string; reason: string }
  | { type: "shard-stopped"; name: string }
  /** Its log said what its client's connection runs on (`describeRpcTransport`). */
  | { type: "shard-rpc-observed"; name: string; rpc: string }
  | { type: "shard-connection-opened"; name: string }
  | { type: "shard-connection-closed"; name: string };

/** A node that runs nothing yet. */
export const noLocalProcesses: LocalProcesses = {
  engines: new Map(),
  shards: new Map(),
  shardConnections: new Map(),
};

/** The reducer for this node's processes (called by `applyEvent`). */
export function applyLocalEvent(local: LocalProcesses, event: LocalProcessEvent): LocalProcesses {
  switch (event.type) {
    case "engine-started":
      return withEngine(local, event.instanceId, { processKey: event.processKey, status: event.status });
    case "engine-status-changed": {
      const id = event.status.id as InstanceId;
      const engine = local.engines.get(id);
      // A stopped engine's last words (STOPPING) change nothing: it no longer runs here. Nor do those
      // of an engine replaced by one started for a new plan: they would stand for the new one.
      if (!engine || engine.processKey !== event.processKey) return local;
      const endpoint = event.status.state === "READY" ? event.endpoint : undefined;
      return withEngine(local, id, { processKey: engine.processKey, status: event.status, endpoint });
    }
    case "engine-stats-sampled": {
      const engine = local.engines.get(event.instanceId);
      if (engine?.status.state !== "READY" || engine.processKey !== event.processKey) return local;
      return withEngine(local, event.instanceId, {
        ...engine,
        status: { ...engine.status, stats: event.stats },
      });
    }
    case "engine-stopped": {
      if (!local.engines.has(event.instanceId)) return local;
      const engines = new Map(local.engines);
      engines.delete(event.instanceId);
      return { ...local, engines };
    }
    case "shard-started":
      return withShard(local, event.name, { host: event.host, ready: false });
    case "shard-ready": {
      const shard = local.shards.get(event.name);
      return shard ? withShard(local, event.name, { ...shard, port: event.port, ready: true }) : local;
    }
    case "shard-failed": {
      const shard = local.shards.get(event.name);
      return shard ? withShard(local, event.name, { host: shard.host, ready: false }) : local;
    }
    case "shard-rpc-observed": {
      const shard = local.shards.get(event.name);
      return shard ? withShard(local, event.name, { ...shard, rpc: event.rpc }) : local;
    }
    case "shard-stopped": {
      if (!local.shards.has(event.name)) return local;
      const shards = new Map(local.shards);
      shards.delete(event.name);
      return { ...local, shards };
    }
    case "shard-connection-opened":
      return withConnections(local, event.name, 1);
    case "shard-connection-closed":
      return withConnections(local, event.name, -1);
    default:
      return assertNever(event);
  }
}

function withEngine(local: LocalProcesses, id: InstanceId, engine: LocalEngine): LocalProcesses {
  return { ...local, engines: new Map(local.engines).set(id, engine) };
}

function withShard(local: LocalProcesses, name: string, shard: LocalShard): LocalProcesses {
  return { ...local, shards: new Map(local.shards).set(name, shard) };
}

function withConnections(local: LocalProcesses, name: string, change: 1 | -1): LocalProcesses {
  const open = Math.max(0, (local.shardConnections.get(name) ?? 0) + change);
  const shardConnections = new Map(local.shardConnections);
  if (open === 0) shardConnections.delete(name);
  else shardConnections.set(name, open);
  return { ...local, shardConnections };
}
