import type { NodeState } from "../cluster/node-state.js";
import type { PlacedInstance } from "../protocol/cluster.js";
import type { InstanceId } from "../protocol/ids.js";

/** The RPC server name of one shard of an instance; tunnels ask for it by this name. */
export function shardName(instanceId: string, shardIndex: number): string {
  return `${instanceId}-s${shardIndex}`;
}

/** One step that makes this node's processes match the desired state. */
export type LocalAction =
  | { type: "stop-shard"; name: string }
  /**
   * `direct`: the RPC server listens on the network itself instead of loopback: on `host` (the
   * private path's address the plan chose) or, without one, the node's first advertised address.
   */
  | { type: "start-shard"; name: string; threads?: number; transport: "tunnel" | "direct"; host?: string }
  /** `removed`: the instance no longer runs here (unloaded, suspended, headed elsewhere), rather than restarts. */
  | { type: "stop-engine"; instanceId: InstanceId; removed: boolean }
  | { type: "start-engine"; instance: PlacedInstance };

/**
 * What this node must start and stop so that its processes (`state.local`) match the desired state: an RPC server
 * for each shard placed here, and an engine for each instance headed here that is not suspended.
 * An engine whose instance changed what it depends on (a new plan) is stopped and started again;
 * one whose instance only started draining keeps running. Shards come first, so that a head
 * starting here finds its local shards; stops come before starts, so memory is free.
 */
export function planLocalActions(state: NodeState): LocalAction[] {
  const { engines, shards } = state.local;
  const actions: LocalAction[] = [];
  const wantedShards = new Map<string, { threads?: number; transport: "tunnel" | "direct"; host?: string }>();
  for (const instance of state.desired.instances) {
    if (!instance.plan || instance.suspended !== undefined) continue;
    const plan = instance.plan;
    plan.rpcNodes.forEach((node, index) => {
      if (node !== state.self) return;
      const route = plan.rpcRoutes?.[index] ?? { transport: plan.rpcTransport };
      wantedShards.set(shardName(instance.id, index), {
        threads: instance.threads,
        transport: route.transport,
        ...(route.host === undefined ? {} : { host: route.host }),
      });
    });
  }
  // A shard whose address changed (its path went away, its instance now tunnelled) starts again on the new one.
  const moved = new Set(
    [...wantedShards]
      .filter(([name, settings]) => {
        const host = shards.get(name)?.host;
        if (host === undefined) return false;
        if (settings.transport === "tunnel") return host !== "127.0.0.1";
        return settings.host !== undefined && host !== settings.host;
      })
      .map(([name]) => name),
  );
  for (const name of shards.keys())
    if (!wantedShards.has(name) || moved.has(name)) actions.push({ type: "stop-shard", name });
  for (const [name, settings] of wantedShards) {
    if (!shards.has(name) || moved.has(name)) actions.push({ type: "start-shard", name, ...settings });
  }
  const wanted = new Map(
    state.desired.instances
      .filter((instance) => instance.node === state.self && instance.suspended === undefined)
      .map((instance) => [instance.id, instance]),
  );
  const restarted = new Set<InstanceId>();
  for (const [instanceId, engine] of engines) {
    const instance = wanted.get(instanceId);
    if (instance && processKey(instance) === engine.processKey) continue;
    actions.push({ type: "stop-engine", instanceId, removed: !instance });
    restarted.add(instanceId);
  }
  for (const instance of wanted.values()) {
    if (!engines.has(instance.id) || restarted.has(instance.id))
      actions.push({ type: "start-engine", instance });
  }
  return actions;
}

/** What the engine process depends on: a change to anything else (draining) leaves it running. */
export function processKey(instance: PlacedInstance): string {
  const { draining: _draining, ...rest } = instance;
  return JSON.stringify(rest);
}
