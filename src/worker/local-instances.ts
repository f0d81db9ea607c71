import { randomBytes } from "node:crypto";
import { RpcTunnel } from "../cluster/rpc-tunnel.js";
import type { EngineQuirks } from "../engine/engine-quirks.js";
import { type EngineEndpoint, LlamaServerSupervisor } from "../engine/llama-server-supervisor.js";
import { draftIncompatibility, suggestDraft } from "../models/draft-compatibility.js";
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
import {
  ConflictError,
  InvalidRequestError,
  ModelCorruptError,
  ModelNotFoundError,
  NotFoundError,
} from "../protocol/errors.js";
import type { NodeEvent } from "../protocol/events.js";
import type { InstanceId, ModelName, NodeId } from "../protocol/ids.js";
import { InstanceSpec, type InstanceStatus } from "../protocol/instance.js";
import type { ModelProfile } from "../protocol/model-profile.js";
import { sleep } from "../util/backoff.js";
import { formatBytes } from "../util/format.js";
import type { Logger } from "../util/logger.js";
import { distributedArgs } from "./distributed-args.js";
import { checkEngineMemory, type NodeMemoryCheck } from "./engine-memory-check.js";
import type { LocalShards } from "./local-shards.js";
import { placeReplicas } from "./place-replicas.js";
import { planLocalActions, processKey, shardName } from "./plan-local-actions.js";

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
  /** Instances of the model on disjoint nodes; `auto`: as many as fit. Default 1. */
  replicas?: number | "auto";
  /** A small model of the same vocabulary for speculative decoding, held by the head. */
  draft?: string;
  /** Most tokens the draft proposes at a time. */
  draftMax?: number;
}

/**
 * Decides where an instance runs (the planner, wired by main.ts); undefined means here alone.
 * `excluded` are nodes other replicas of the model already use. Throws NoPlacementError (or
 * ConflictError when only nodes without the file could head it).
 */
export type PlanInstance = (
  model: ModelProfile,
  spec: InstanceSpec,
  request: LoadRequest,
  excluded: NodeId[],
  draft: ModelProfile | undefined,
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
  /** Told each shard's `--rpc` endpoint once all answer, before llama-server connects (calibration). */
  onShardsReachable?: (plan: InstancePlan, endpoints: string[], signal: AbortSignal) => Promise<void>;
  plan?: PlanInstance;
  /** Copies a model this node must head but lacks from a peer that holds it. */
  obtainModel?: (
    name: string,
    signal: AbortSignal,
    report: (reason: string) => void,
  ) => Promise<ModelProfile>;
  /** A short generation before each engine is READY (`--no-warmup` turns it off). Default true. */
  warmup?: boolean;
  /** Requests in flight on an instance headed here, and served by it so far (the router counts them). */
  requestsOf?: (instanceId: InstanceId) => { inFlight: number; served: number };
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

  private reconcile(state: DesiredState): Promise<void> {
    // One reconciliation at a time, in the order states arrived.
    this.reconciling = this.reconciling.then(async () => {
      const actions = planLocalActions({
        self: this.options.nodeId,
        desired: state,
        engines: this.startedFor,
        shards: this.options.shards.names(),
      });
      await this.options.shards.carryOut(actions).catch((error: unknown) => {
        this.options.logger.error({ err: error }, "could not start RPC shards");
      });
      for (const action of actions) {
        if (action.type === "stop-engine") {
          const supervisor = this.supervisors.get(action.instanceId)!;
          await this.stopSupervisor(action.instanceId, supervisor);
          if (action.removed) {
            this.options.publish({
              type: "instance-removed",
              instanceId: action.instanceId,
              model: supervisor.status.model,
            });
          }
        } else if (action.type === "start-engine") {
          await this.startSupervisor(action.instance).catch((error: unknown) => {
            this.options.logger.error(
              { err: error, instance: action.instance.id },
              "could not start instance",
            );
          });
        }
      }
    });
    return this.reconciling;
  }

  /**
   * What `load` would do: the planner's full answer, without changing anything; and, when no draft
   * was asked for, a local model that could draft for this one.
   */
  async dryRun(request: LoadRequest): Promise<unknown> {
    const { model, draft } = await this.specFor(request);
    const details = this.dryRunFor(model, request, draft);
    const suggestion = draft ? undefined : suggestDraft(model, await this.options.models.list());
    return suggestion
      ? {
          ...(details as object),
          draftSuggestion: {
            model: suggestion.name,
            sizeBytes: suggestion.sizeBytes,
            reason: `same vocabulary as ${model.name} (${suggestion.vocabulary?.type}, ${suggestion.vocabulary?.size} tokens) and ${Math.round(model.sizeBytes / suggestion.sizeBytes)}x smaller: load with --draft ${suggestion.name} for speculative decoding`,
          },
        }
      : details;
  }

  /** The planner's answer for a model that need not be in the store (a hub file's header, for `models fit`). */
  dryRunFor(model: ModelProfile, request: LoadRequest, draft?: ModelProfile): unknown {
    const spec = this.specFrom(model, request, draft);
    return (
      this.options.plan?.(model, spec, request, [], draft)?.details ?? {
        head: this.options.nodeId,
        splitMode: "none",
      }
    );
  }

  /**
   * Places the model's instances (several with `replicas`, each on nodes the others do not use) and
   * adds them to the desired state; returns the first one's status, with every replica's.
   */
  async load(request: LoadRequest): Promise<InstanceStatus & { replicas: InstanceStatus[] }> {
    const { model, spec, draft } = await this.specFor(request);
    if (this.options.cluster.desiredState.instances.some((instance) => instance.model === model.name)) {
      throw new ConflictError(
        `model '${model.name}' is already loaded; unload it first to change its settings`,
      );
    }
    // The engine must exist before the instance is promised.
    await this.options.engine();
    const placed = placeReplicas(request.replicas ?? 1, spec, (replica, excluded) => {
      const planned = this.options.plan?.(model, replica, request, excluded, draft);
      const head = planned?.plan.head ?? this.options.nodeId;
      // Without a planner this node is the only place: a second replica has nowhere to go.
      if (!planned && excluded.includes(head)) return undefined;
      return { ...replica, node: head, plan: planned?.plan, basis: planned?.basis };
    });
    for (const instance of placed) {
      await this.options.cluster.changeDesired({ op: "add-instance", instance });
    }
    await this.reconciling;
    const statuses = placed.map((instance) => this.supervisors.get(instance.id)?.status ?? planned(instance));
    return { ...statuses[0]!, replicas: statuses };
  }

  /**
   * Stops new requests going to the instances that match (an instance id, a model, or a node whose
   * instances they are); the coordinator unloads each once its requests in flight are done.
   */
  async drain(match: { instance?: string; node?: NodeId }): Promise<PlacedInstance[]> {
    const targets = this.options.cluster.desiredState.instances.filter((instance) =>
      match.node
        ? instance.node === match.node || instance.plan?.shards.some((shard) => shard.node === match.node)
        : instance.id === match.instance || instance.model === match.instance,
    );
    if (targets.length === 0) {
      throw new NotFoundError(
        match.node
          ? `no instance runs on node ${match.node}`
          : `no instance of '${match.instance}' is loaded`,
      );
    }
    const since = new Date().toISOString();
    const draining: PlacedInstance[] = [];
    for (const instance of targets) {
      const next = { ...instance, draining: instance.draining ?? since };
      if (!instance.draining)
        await this.options.cluster.changeDesired({ op: "update-instance", instance: next });
      draining.push(next);
    }
    return draining;
  }

  /** Resolves once none of `ids` is in the desired state any more (a drain finished). */
  async waitUntilRemoved(ids: string[], signal?: AbortSignal): Promise<void> {
    const removed = (state: DesiredState) => !state.instances.some((instance) => ids.includes(instance.id));
    if (!removed(this.options.cluster.desiredState)) {
      await new Promise<void>((resolve, reject) => {
        signal?.throwIfAborted();
        const stop = this.options.cluster.onDesiredState((state) => {
          if (!removed(state)) return;
          finish();
          resolve();
        });
        const onAbort = () => {
          finish();
          reject(signal?.reason);
        };
        const finish = () => {
          stop();
          signal?.removeEventListener("abort", onAbort);
        };
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    }
    await this.reconciling;
  }

  private async specFor(
    request: LoadRequest,
  ): Promise<{ model: ModelProfile; spec: InstanceSpec; draft: ModelProfile | undefined }> {
    const model = await this.options.models.require(request.model);
    const draft = request.draft ? await this.options.models.require(request.draft) : undefined;
    for (const stored of [model, draft]) {
      if (stored?.verification?.state === "corrupt")
        throw new ModelCorruptError(stored.name, stored.verification.problem ?? "", stored.source);
    }
    if (draft) {
      const problem = draftIncompatibility(model, draft);
      if (problem) throw new InvalidRequestError(problem, "draft");
    }
    return { model, spec: this.specFrom(model, request, draft), draft };
  }

  private specFrom(model: ModelProfile, request: LoadRequest, draft: ModelProfile | undefined): InstanceSpec {
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
      draft: draft?.name,
      draftMax: request.draftMax,
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
      parallel: status.parallel,
      restartsLastHour: status.restartsLastHour ?? 0,
      lastExit: status.lastExit?.slice(0, 1000),
      ...(this.options.requestsOf?.(status.id) ?? { inFlight: 0, served: 0 }),
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

  /** READY instances of a model that take new requests (not draining), with where to reach them. */
  ready(model: ModelName | string): Array<{ status: InstanceStatus; endpoint: EngineEndpoint }> {
    const draining = new Set(
      this.options.cluster.desiredState.instances
        .filter((instance) => instance.draining !== undefined)
        .map((instance) => instance.id),
    );
    const result: Array<{ status: InstanceStatus; endpoint: EngineEndpoint }> = [];
    for (const supervisor of this.supervisors.values()) {
      const endpoint = supervisor.endpoint;
      if (supervisor.status.model === model && endpoint && !draining.has(supervisor.status.id))
        result.push({ status: supervisor.status, endpoint });
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
          await this.options.onShardsReachable?.(plan, endpoints as string[], signal);
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
    // A head placed on a node without the files (a recovery, pinned nodes) copies them from a peer.
    const model = await this.options.models.get(spec.model);
    const draft = spec.draft ? await this.options.models.get(spec.draft) : undefined;
    const missing = !model || (spec.draft !== undefined && !draft);
    const obtain = this.options.obtainModel;
    if (missing && !obtain) throw new ModelNotFoundError(model ? spec.draft! : spec.model);
    const engine = await this.options.engine();
    const prepareShards = instance.plan ? await this.shardPreparation(instance) : undefined;
    const supervisor = new LlamaServerSupervisor({
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
      warmup: this.options.warmup,
      onWarmedUp: (timing) =>
        this.options.publish({
          type: "instance-warmed-up",
          instanceId: spec.id,
          model: spec.model,
          ...timing,
        }),
      onWorkaround: (flag, reason) =>
        this.options.publish({ type: "engine-workaround-applied", flag, reason }),
    });
    this.supervisors.set(spec.id, supervisor);
    this.startedFor.set(spec.id, processKey(instance));
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
