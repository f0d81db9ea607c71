import { randomBytes } from "node:crypto";
import { RpcTunnel } from "../cluster/rpc-tunnel.js";
import type { EngineQuirks } from "../engine/engine-quirks.js";
import { type EngineEndpoint, LlamaServerSupervisor } from "../engine/llama-server-supervisor.js";
import type { ModelStore } from "../models/model-store.js";
import type {
  DesiredChange,
  DesiredState,
  InstancePlan,
  InstanceSummary,
  PlacedInstance,
  PlacementBasis,
} from "../protocol/cluster.js";
import type { EngineInstall } from "../protocol/engine.js";
import { ConflictError, InvalidRequestError, ModelNotFoundError } from "../protocol/errors.js";
import type { NodeEvent } from "../protocol/events.js";
import type { InstanceId, ModelName, NodeId } from "../protocol/ids.js";
import { InstanceSpec, type InstanceStatus } from "../protocol/instance.js";
import type { ModelProfile } from "../protocol/model-profile.js";
import { sleep } from "../util/backoff.js";
import { formatBytes } from "../util/format.js";
import type { Logger } from "../util/logger.js";
import { distributedArgs } from "./distributed-args.js";
import { checkEngineMemory, type NodeMemoryCheck } from "./engine-memory-check.js";
import { type LocalShards, shardName } from "./local-shards.js";

export interface LoadRequest {
  model: string;
  contextSize?: number;
  parallel?: number;
  embeddings?: boolean;
  threads?: number;
  /** Placement wishes for the planner. */
  split?: "auto" | "layer" | "tensor";
  rpcTransport?: "tunnel" | "direct";
  nodes?: string[];
  avoid?: string[];
  minNodes?: number;
  maxNodes?: number;
}

/** Decides where an instance runs (the planner, wired by main.ts); undefined means here alone. */
export type PlanInstance = (
  model: ModelProfile,
  spec: InstanceSpec,
  request: LoadRequest,
) => { plan: InstancePlan; basis: PlacementBasis; details: unknown } | undefined;

/** The cluster, as far as the worker needs it. */
export interface DesiredStateSource {
  readonly desiredState: DesiredState;
  changeDesired(change: DesiredChange): Promise<DesiredState>;
  onDesiredState(listener: (state: DesiredState) => void): () => void;
}

export interface LocalInstancesOptions {
  nodeId: NodeId;
  cluster: DesiredStateSource;
  logDirectory: string;
  runDirectory: string;
  models: ModelStore;
  /** Resolves the engine lazily, so a node can start (and build) before its first load. */
  engine: () => Promise<EngineInstall>;
  quirks: EngineQuirks;
  logger: Logger;
  parentDeathWrapper?: string[];
  publish: (event: NodeEvent) => void;
  /** This node's RPC shards (for instances headed elsewhere). */
  shards: LocalShards;
  /** The cluster key, for tunnels to other nodes' shards. */
  clusterKey: Buffer;
  /** Where another node's cluster channel listens. */
  endpointsOf: (node: NodeId) => string[];
  /** Where another node's direct-transport RPC server listens, once it does. */
  rpcServerOf: (node: NodeId, name: string) => Promise<{ host: string; port: number } | undefined>;
  plan?: PlanInstance;
  /** Copies a model this node must head but lacks from a peer that holds it. */
  obtainModel?: (
    name: string,
    signal: AbortSignal,
    report: (reason: string) => void,
  ) => Promise<ModelProfile>;
}

/**
 * Makes this machine's engine processes match the part of the cluster's desired state placed on
 * this node. Loads and unloads change the desired state (through the coordinator); the processes
 * follow when the new state arrives, and a restarted node brings back what its desired state lists.
 */
export class LocalInstances {
  private readonly supervisors = new Map<InstanceId, LlamaServerSupervisor>();
  /** What each running supervisor was started for, to notice a changed plan. */
  private readonly startedFor = new Map<InstanceId, string>();
  private readonly tunnels = new Map<InstanceId, RpcTunnel[]>();
  private unsubscribe: (() => void) | undefined;
  private reconciling: Promise<void> = Promise.resolve();

  constructor(private readonly options: LocalInstancesOptions) {}

  /** Starts following the desired state (and starts what it already lists for this node). */
  async restore(): Promise<void> {
    this.unsubscribe = this.options.cluster.onDesiredState((state) => void this.reconcile(state));
    await this.reconcile(this.options.cluster.desiredState);
  }

  /** The desired instances placed here. */
  private mine(state: DesiredState): PlacedInstance[] {
    return state.instances.filter((instance) => instance.node === this.options.nodeId);
  }

  /** The instances headed here that should run now (not suspended for lack of room). */
  private runnable(state: DesiredState): PlacedInstance[] {
    return this.mine(state).filter((instance) => instance.suspended === undefined);
  }

  private reconcile(state: DesiredState): Promise<void> {
    // One reconciliation at a time, in the order states arrived.
    this.reconciling = this.reconciling.then(async () => {
      await this.options.shards.reconcile(state).catch((error: unknown) => {
        this.options.logger.error({ err: error }, "could not start RPC shards");
      });
      const wanted = new Map(this.runnable(state).map((instance) => [instance.id, instance]));
      for (const [id, supervisor] of [...this.supervisors]) {
        const instance = wanted.get(id);
        if (instance && this.startedFor.get(id) === JSON.stringify(instance)) continue;
        await this.stopSupervisor(id, supervisor);
        if (!instance)
          this.options.publish({ type: "instance-removed", instanceId: id, model: supervisor.status.model });
      }
      for (const instance of wanted.values()) {
        if (this.supervisors.has(instance.id)) continue;
        await this.startSupervisor(instance).catch((error: unknown) => {
          this.options.logger.error({ err: error, instance: instance.id }, "could not start instance");
        });
      }
    });
    return this.reconciling;
  }

  /** What `load` would do: the planner's full answer, without changing anything. */
  async dryRun(request: LoadRequest): Promise<unknown> {
    return this.dryRunFor(await this.options.models.require(request.model), request);
  }

  /** The same for a model that is not in the store (yet): a hub file's header, for `models fit`. */
  dryRunFor(model: ModelProfile, request: LoadRequest): unknown {
    const spec = this.specFrom(model, request);
    return (
      this.options.plan?.(model, spec, request)?.details ?? { head: this.options.nodeId, splitMode: "none" }
    );
  }

  async load(request: LoadRequest): Promise<InstanceStatus> {
    const { model, spec } = await this.specFor(request);
    if (this.options.cluster.desiredState.instances.some((instance) => instance.model === model.name)) {
      throw new ConflictError(
        `model '${model.name}' is already loaded; unload it first to change its settings`,
      );
    }
    // The engine must exist before the instance is promised.
    await this.options.engine();
    const placed = this.options.plan?.(model, spec, request);
    const head = placed?.plan.head ?? this.options.nodeId;
    await this.options.cluster.changeDesired({
      op: "add-instance",
      instance: { ...spec, node: head, plan: placed?.plan, basis: placed?.basis },
    });
    await this.reconciling;
    return this.supervisors.get(spec.id)?.status ?? planned(spec);
  }

  private async specFor(request: LoadRequest): Promise<{ model: ModelProfile; spec: InstanceSpec }> {
    const model = await this.options.models.require(request.model);
    return { model, spec: this.specFrom(model, request) };
  }

  private specFrom(model: ModelProfile, request: LoadRequest): InstanceSpec {
    const parallel = request.parallel ?? 4;
    const contextSize = request.contextSize ?? Math.min(model.trainContextLength || 4096, 4096) * parallel;
    if (contextSize < parallel) {
      throw new InvalidRequestError("context size must be at least one token per slot", "contextSize");
    }
    const spec = InstanceSpec.parse({
      id: `${model.name.replace(/[^A-Za-z0-9_-]/g, "-")}-${randomBytes(3).toString("hex")}`,
      model: model.name,
      contextSize,
      parallel,
      embeddings: request.embeddings ?? model.isEmbeddingModel,
      threads: request.threads,
      createdAt: new Date().toISOString(),
    });
    return spec;
  }

  /** Removes a model's instances (or one instance) from the desired state; returns those that stopped here. */
  async unload(modelOrId: string): Promise<InstanceStatus[]> {
    const before = this.list().filter((status) => status.id === modelOrId || status.model === modelOrId);
    await this.options.cluster.changeDesired({ op: "remove-instances", match: modelOrId });
    await this.reconciling;
    return before.map((status) => ({ ...status, state: "STOPPING" as const, reason: "unloaded" }));
  }

  /** This node's instances as heartbeats report them. */
  summaries(): InstanceSummary[] {
    return this.list().map((status) => ({
      id: status.id,
      model: status.model,
      node: this.options.nodeId,
      state: status.state,
      reason: status.reason,
      since: status.since,
      stats: status.stats,
    }));
  }

  /** Instances headed here, with their plans: running ones, and suspended ones as FAILED with the reason. */
  list(): InstanceStatus[] {
    const plans = new Map(
      this.mine(this.options.cluster.desiredState).map((placed) => [placed.id, placed.plan]),
    );
    const running = [...this.supervisors.values()].map((supervisor) => {
      const plan = plans.get(supervisor.status.id);
      return plan ? { ...supervisor.status, plan } : supervisor.status;
    });
    const suspended = this.mine(this.options.cluster.desiredState)
      .filter((instance) => instance.suspended !== undefined && !this.supervisors.has(instance.id))
      .map((instance) => ({
        ...planned(InstanceSpec.parse(instance)),
        plan: instance.plan,
        state: "FAILED" as const,
        reason: instance.suspended!,
      }));
    return [...running, ...suspended];
  }

  /** READY instances of a model with where to reach them. */
  ready(model: ModelName | string): Array<{ status: InstanceStatus; endpoint: EngineEndpoint }> {
    const result: Array<{ status: InstanceStatus; endpoint: EngineEndpoint }> = [];
    for (const supervisor of this.supervisors.values()) {
      const endpoint = supervisor.endpoint;
      if (supervisor.status.model === model && endpoint) result.push({ status: supervisor.status, endpoint });
    }
    return result;
  }

  /** Stops every engine (the desired state stays, so they come back at the next start). */
  async dispose(): Promise<void> {
    this.unsubscribe?.();
    await this.reconciling;
    const supervisors = [...this.supervisors.values()];
    this.supervisors.clear();
    await Promise.all(supervisors.map((supervisor) => supervisor.dispose("the node is stopping")));
    for (const tunnels of this.tunnels.values()) for (const tunnel of tunnels) await tunnel.close();
    this.tunnels.clear();
    await this.options.shards.dispose();
  }

  /** Kills every engine synchronously; for `process.on("exit")`. */
  killAllNow(): void {
    for (const supervisor of this.supervisors.values()) supervisor.killNow();
    this.options.shards.killAllNow();
  }

  /**
   * For a distributed instance headed here: opens a tunnel to each remote shard and returns the
   * hook that, before each engine start, waits until every shard answers and gives the flags.
   */
  private async shardPreparation(
    instance: PlacedInstance,
  ): Promise<((signal: AbortSignal) => Promise<string[]>) | undefined> {
    const plan = instance.plan!;
    if (plan.splitMode === "none" || plan.rpcNodes.length === 0) return undefined;
    const tunnels: RpcTunnel[] = [];
    const reach: Array<() => Promise<string | undefined>> = [];
    for (const [index, node] of plan.rpcNodes.entries()) {
      const name = shardName(instance.id, index);
      if (node === this.options.nodeId) {
        reach.push(async () => {
          const local = this.options.shards.lookup(name);
          return local ? `${local.host}:${local.port}` : undefined;
        });
        continue;
      }
      if (plan.rpcTransport === "direct") {
        reach.push(async () => {
          const remote = await this.options.rpcServerOf(node, name);
          return remote ? `${remote.host}:${remote.port}` : undefined;
        });
        continue;
      }
      const tunnel = await RpcTunnel.open({
        name,
        endpoints: this.options.endpointsOf(node),
        key: this.options.clusterKey,
        selfId: this.options.nodeId,
      });
      tunnels.push(tunnel);
      reach.push(async () => ((await tunnel.probe()) ? tunnel.endpoint : undefined));
    }
    this.tunnels.set(instance.id, tunnels);
    return async (signal) => {
      for (;;) {
        const endpoints = await Promise.all(reach.map((check) => check()));
        if (endpoints.every((endpoint) => endpoint !== undefined)) {
          return distributedArgs(plan, endpoints as string[]);
        }
        await sleep(50, signal);
      }
    };
  }

  private async stopSupervisor(id: InstanceId, supervisor: LlamaServerSupervisor): Promise<void> {
    this.supervisors.delete(id);
    this.startedFor.delete(id);
    await supervisor.dispose();
    for (const tunnel of this.tunnels.get(id) ?? []) await tunnel.close();
    this.tunnels.delete(id);
  }

  /**
   * Logs and publishes the engine's memory beside the plan's. Over by more than a tenth is a warning:
   * the planner's formulas have drifted from this llama.cpp, and plans may promise memory that is not there.
   */
  private reportMemory(status: InstanceStatus, nodes: NodeMemoryCheck[]): void {
    this.options.publish({
      type: "instance-memory-checked",
      instanceId: status.id,
      model: status.model,
      nodes,
    });
    const over = nodes.filter(
      (node) => node.plannedBytes > 0 && node.reportedBytes > node.plannedBytes * 1.1,
    );
    const fields = {
      instance: status.id,
      nodes: nodes.map((node) => ({
        node: node.node,
        planned: formatBytes(node.plannedBytes),
        reported: formatBytes(node.reportedBytes),
      })),
    };
    if (over.length > 0) this.options.logger.warn(fields, "the engine took more memory than planned");
    else this.options.logger.info(fields, "engine memory within the plan");
  }

  private async startSupervisor(instance: PlacedInstance): Promise<InstanceStatus> {
    const spec = InstanceSpec.parse(instance);
    // A head placed on a node without the file (a recovery, pinned nodes) copies it from a peer.
    const model = await this.options.models.get(spec.model);
    const obtain = this.options.obtainModel;
    if (!model && !obtain) throw new ModelNotFoundError(spec.model);
    const engine = await this.options.engine();
    const prepareShards = instance.plan ? await this.shardPreparation(instance) : undefined;
    const supervisor = new LlamaServerSupervisor({
      spec,
      model,
      obtainModel: model ? undefined : (signal, report) => obtain!(spec.model, signal, report),
      engine,
      quirks: this.options.quirks,
      logDirectory: this.options.logDirectory,
      runDirectory: this.options.runDirectory,
      logger: this.options.logger,
      parentDeathWrapper: this.options.parentDeathWrapper,
      onStatus: (status) => {
        this.options.publish({
          type: "instance-state-changed",
          instanceId: status.id,
          model: status.model,
          state: status.state,
          reason: status.reason,
        });
        if (status.state === "READY" && status.engineMemory && instance.plan) {
          this.reportMemory(status, checkEngineMemory(instance.plan, status.engineMemory));
        }
      },
      prepareShards,
      onWorkaround: (flag, reason) =>
        this.options.publish({ type: "engine-workaround-applied", flag, reason }),
    });
    this.supervisors.set(spec.id, supervisor);
    this.startedFor.set(spec.id, JSON.stringify(instance));
    supervisor.start();
    return supervisor.status;
  }
}

function planned(spec: InstanceSpec): InstanceStatus {
  return {
    ...spec,
    state: "PLANNED",
    reason: "waiting to start",
    since: new Date().toISOString(),
    restarts: 0,
    workarounds: [],
  };
}
