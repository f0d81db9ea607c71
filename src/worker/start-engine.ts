import type { NodeStore } from "../cluster/node-state.js";
import { RpcTunnel } from "../cluster/rpc-tunnel.js";
import type { EngineQuirks } from "../engine/engine-quirks.js";
import { LlamaServerSupervisor } from "../engine/llama-server-supervisor.js";
import type { ModelStore } from "../models/model-store.js";
import type { InstancePlan, PlacedInstance } from "../protocol/cluster.js";
import type { EngineInstall } from "../protocol/engine.js";
import { ModelNotFoundError } from "../protocol/errors.js";
import type { NodeEvent } from "../protocol/events.js";
import type { NodeId } from "../protocol/ids.js";
import { InstanceSpec, type InstanceStatus } from "../protocol/instance.js";
import type { ModelProfile } from "../protocol/model-profile.js";
import { sleep } from "../util/backoff.js";
import { formatBytes } from "../util/format.js";
import type { Logger } from "../util/logger.js";
import type { RequestCounts } from "../util/request-counts.js";
import { distributedArgs } from "./distributed-args.js";
import { checkEngineMemory, type NodeMemoryCheck } from "./engine-memory-check.js";
import { processKey, shardName } from "./plan-local-actions.js";

/**
 * How often a head asks another node's shard whether it answers yet, before its engine starts.
 * The shard runs elsewhere: only a probe over the tunnel (or the peer's channel) can tell.
 */
const remoteShardProbeMs = 50;

/** What starting an engine here needs. */
export interface EngineStartOptions {
  nodeId: NodeId;
  /** The node's state: each engine's start and every status its supervisor reports go there. */
  store: NodeStore;
  logDirectory: string;
  runDirectory: string;
  models: ModelStore;
  /** Resolves the engine lazily, so a node can start (and build) before its first load. */
  engine: () => Promise<EngineInstall>;
  quirks: EngineQuirks;
  logger: Logger;
  parentDeathWrapper?: string[];
  publish: (event: NodeEvent) => void;
  /** The cluster key, for tunnels to other nodes' shards. */
  clusterKey: Buffer;
  /** Where another node's cluster channel listens. */
  endpointsOf: (node: NodeId) => string[];
  /** Requests in flight on each instance headed here, and served by it so far (the router counts them). */
  requests?: RequestCounts;
  /** Where another node's direct-transport RPC server listens, once it does. */
  rpcServerOf: (node: NodeId, name: string) => Promise<{ host: string; port: number } | undefined>;
  /** Told each shard's `--rpc` endpoint once all answer, before llama-server connects (calibration). */
  onShardsReachable?: (plan: InstancePlan, endpoints: string[], signal: AbortSignal) => Promise<void>;
  /** Copies a model this node must head but lacks from a peer that holds it. */
  obtainModel?: (
    name: string,
    signal: AbortSignal,
    report: (reason: string) => void,
  ) => Promise<ModelProfile>;
  /** A short generation before each engine is READY (`--no-warmup` turns it off). Default true. */
  warmup?: boolean;
  /** Threads for an engine whose instance names none (`--engine-threads`); default llama.cpp's. */
  engineThreads?: number;
}

/** A running engine's handles: its supervisor, and the tunnels it reaches its shards through. */
export interface StartedEngine {
  supervisor: LlamaServerSupervisor;
  tunnels: RpcTunnel[];
}

/**
 * Starts the engine of an instance headed here: gets the model files (from a peer if need be), opens
 * tunnels to its remote shards, and supervises llama-server, turning what the supervisor reports into
 * `engine-started`, `engine-status-changed` and `engine-stats-sampled` events on the node's state.
 */
export async function startEngine(
  options: EngineStartOptions,
  instance: PlacedInstance,
): Promise<StartedEngine> {
  const spec = InstanceSpec.parse(instance);
  // A head placed on a node without the files (a recovery, pinned nodes) copies them from a peer.
  const model = await options.models.get(spec.model);
  const draft = spec.draft ? await options.models.get(spec.draft) : undefined;
  const missing = !model || (spec.draft !== undefined && !draft);
  const obtain = options.obtainModel;
  if (missing && !obtain) throw new ModelNotFoundError(model ? spec.draft! : spec.model);
  const engine = await options.engine();
  const prepared = instance.plan ? await shardPreparation(options, instance) : undefined;
  const { store, publish } = options;
  const key = processKey(instance);
  const supervisor: LlamaServerSupervisor = new LlamaServerSupervisor({
    spec,
    model: missing ? undefined : model,
    draft,
    obtainModel: missing
      ? async (signal, report) => ({
          model: model ?? (await obtain!(spec.model, signal, report)),
          draft: spec.draft ? (draft ?? (await obtain!(spec.draft, signal, report))) : undefined,
        })
      : undefined,
    engine,
    quirks: options.quirks,
    logDirectory: options.logDirectory,
    runDirectory: options.runDirectory,
    logger: options.logger,
    parentDeathWrapper: options.parentDeathWrapper,
    onStatus: (status) => {
      // The supervisor's own view adds the restarts of the last hour to what changed.
      store.apply({
        type: "engine-status-changed",
        processKey: key,
        status: supervisor.status,
        endpoint: supervisor.endpoint,
      });
      publish({
        type: "instance-state-changed",
        instanceId: status.id,
        model: status.model,
        state: status.state,
        reason: status.reason,
      });
      if (status.state === "READY" && status.engineMemory && instance.plan) {
        reportMemory(options, status, checkEngineMemory(instance.plan, status.engineMemory));
      }
    },
    onStats: (stats) =>
      store.apply({ type: "engine-stats-sampled", instanceId: spec.id, processKey: key, stats }),
    ...(options.requests && {
      requests: () => ({
        sent: options.requests!.served(spec.id),
        inFlight: options.requests!.inFlight(spec.id),
      }),
    }),
    prepareShards: prepared?.prepare,
    warmup: options.warmup,
    engineThreads: options.engineThreads,
    onWarmedUp: (timing) =>
      publish({ type: "instance-warmed-up", instanceId: spec.id, model: spec.model, ...timing }),
    onWorkaround: (flag, reason) => publish({ type: "engine-workaround-applied", flag, reason }),
  });
  store.apply({
    type: "engine-started",
    instanceId: spec.id,
    processKey: key,
    status: supervisor.status,
  });
  supervisor.start();
  return { supervisor, tunnels: prepared?.tunnels ?? [] };
}

/**
 * For a distributed instance headed here: opens a tunnel to each remote shard and returns the hook
 * that, before each engine start, waits until every shard answers and gives the flags. A shard on
 * this node is awaited on the state (`shard-ready`); one elsewhere is probed.
 */
async function shardPreparation(
  options: EngineStartOptions,
  instance: PlacedInstance,
): Promise<{ prepare: (signal: AbortSignal) => Promise<string[]>; tunnels: RpcTunnel[] } | undefined> {
  const plan = instance.plan!;
  if (plan.splitMode === "none" || plan.rpcNodes.length === 0) return undefined;
  const tunnels: RpcTunnel[] = [];
  const localNames: string[] = [];
  const reach: Array<() => Promise<string | undefined>> = [];
  for (const [index, node] of plan.rpcNodes.entries()) {
    const name = shardName(instance.id, index);
    if (node === options.nodeId) {
      localNames.push(name);
      reach.push(async () => {
        const local = options.store.current.local.shards.get(name);
        return local?.ready ? `${local.host}:${local.port}` : undefined;
      });
      continue;
    }
    if ((plan.rpcRoutes?.[index]?.transport ?? plan.rpcTransport) === "direct") {
      reach.push(async () => {
        const remote = await options.rpcServerOf(node, name);
        return remote ? `${remote.host}:${remote.port}` : undefined;
      });
      continue;
    }
    const tunnel = await RpcTunnel.open({
      name,
      endpoints: options.endpointsOf(node),
      key: options.clusterKey,
      selfId: options.nodeId,
    });
    tunnels.push(tunnel);
    reach.push(async () => ((await tunnel.probe()) ? tunnel.endpoint : undefined));
  }
  const localReady = (state: typeof options.store.current) =>
    localNames.every((name) => state.local.shards.get(name)?.ready === true);
  const prepare = async (signal: AbortSignal) => {
    for (;;) {
      await options.store.waitFor(localReady, signal);
      const endpoints = await Promise.all(reach.map((check) => check()));
      if (endpoints.every((endpoint) => endpoint !== undefined)) {
        await options.onShardsReachable?.(plan, endpoints as string[], signal);
        return distributedArgs(plan, endpoints as string[]);
      }
      if (localReady(options.store.current)) await sleep(remoteShardProbeMs, signal);
    }
  };
  return { prepare, tunnels };
}

/**
 * Logs and publishes the engine's memory beside the plan's. Over by more than a tenth is a warning:
 * the planner's formulas have drifted from this llama.cpp, and plans may promise memory that is not there.
 */
function reportMemory(options: EngineStartOptions, status: InstanceStatus, nodes: NodeMemoryCheck[]): void {
  options.publish({ type: "instance-memory-checked", instanceId: status.id, model: status.model, nodes });
  const over = nodes.filter((node) => node.plannedBytes > 0 && node.reportedBytes > node.plannedBytes * 1.1);
  const fields = {
    instance: status.id,
    nodes: nodes.map((node) => ({
      node: node.node,
      planned: formatBytes(node.plannedBytes),
      reported: formatBytes(node.reportedBytes),
    })),
  };
  if (over.length > 0) options.logger.warn(fields, "the engine took more memory than planned");
  else options.logger.info(fields, "engine memory within the plan");
}
