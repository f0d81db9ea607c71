import type { NodeState } from "../cluster/node-state.js";
import type { RpcTunnel } from "../cluster/rpc-tunnel.js";
import type { EngineEndpoint, LlamaServerSupervisor } from "../engine/llama-server-supervisor.js";
import { suggestDraft } from "../models/draft-compatibility.js";
import type {
  DesiredEvent,
  DesiredState,
  InstancePlan,
  InstanceSummary,
  PlacedInstance,
  PlacementBasis,
} from "../protocol/cluster.js";
import { ConflictError, NotFoundError } from "../protocol/errors.js";
import type { InstanceId, ModelName, NodeId } from "../protocol/ids.js";
import type { InstanceSpec, InstanceStatus } from "../protocol/instance.js";
import type { RpcTransport } from "../protocol/instance-plan.js";
import type { ModelProfile } from "../protocol/model-profile.js";
import {
  localInstanceStatuses,
  localInstanceSummaries,
  readyLocalEngines,
} from "./local-instance-statuses.js";
import type { LocalShards } from "./local-shards.js";
import { placeReplicas } from "./place-replicas.js";
import { planLocalActions } from "./plan-local-actions.js";
import { plannedStatus, specForLoad, specFromProfile } from "./spec-for-load.js";
import { type EngineStartOptions, startEngine } from "./start-engine.js";

export interface LoadRequest {
  model: string;
  contextSize?: number;
  parallel?: number;
  embeddings?: boolean;
  threads?: number;
  /** Placement wishes for the planner. */
  split?: "auto" | "layer" | "tensor";
  rpcTransport?: RpcTransport;
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
  changeDesired(change: DesiredEvent): Promise<DesiredState>;
  onDesiredState(listener: (state: DesiredState) => void): () => void;
}

export interface LocalInstancesOptions extends EngineStartOptions {
  cluster: DesiredStateSource;
  /** This node's RPC shards (for instances headed elsewhere). */
  shards: LocalShards;
  plan?: PlanInstance;
}

/**
 * Makes this machine's engine processes match the part of the cluster's desired state placed on
 * this node. Loads and unloads change the desired state (through the coordinator); the processes
 * follow when the new state arrives, and a restarted node brings back what its desired state lists.
 */
export class LocalInstances {
  /**
   * Handles to the running engines (their supervisors, and the tunnels to their shards): resources
   * to stop, not state. What runs, for what, and how it is doing is in `NodeState.local`.
   */
  private readonly running = new Map<
    InstanceId,
    { supervisor: LlamaServerSupervisor; tunnels: RpcTunnel[] }
  >();
  private unsubscribe: (() => void) | undefined;
  private reconciling: Promise<void> = Promise.resolve();

  constructor(private readonly options: LocalInstancesOptions) {}

  /** Starts following the desired state (and starts what it already lists for this node). */
  async restore(): Promise<void> {
    this.unsubscribe = this.options.cluster.onDesiredState(() => void this.reconcile());
    await this.reconcile();
  }

  private get desired(): DesiredState {
    return this.options.store.current.desired;
  }

  private reconcile(): Promise<void> {
    // One reconciliation at a time, each against the newest state when its turn comes.
    this.reconciling = this.reconciling.then(async () => {
      const actions = planLocalActions(this.options.store.current);
      await this.options.shards.carryOut(actions).catch((error: unknown) => {
        this.options.logger.error({ err: error }, "could not start RPC shards");
      });
      for (const action of actions) {
        if (action.type === "stop-engine") {
          const model = await this.stopEngine(action.instanceId);
          if (action.removed) {
            this.options.publish({ type: "instance-removed", instanceId: action.instanceId, model });
          }
        } else if (action.type === "start-engine") {
          const instance = action.instance;
          await startEngine(this.options, instance).then(
            (started) => void this.running.set(instance.id, started),
            (error: unknown) => {
              this.options.logger.error({ err: error, instance: instance.id }, "could not start instance");
            },
          );
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
    const { model, draft } = await specForLoad(this.options.models, request);
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
    const spec = specFromProfile(model, request, draft);
    const planned = this.options.plan?.(model, spec, request, [], draft);
    if (!planned) return { head: this.options.nodeId, splitMode: "none" };
    // How the head would reach each shard (`--rpc-transport`), beside the planner's own answer.
    return {
      ...(planned.details as object),
      rpcTransport: planned.plan.rpcTransport,
      rpcRoutes: planned.plan.rpcRoutes,
    };
  }

  /**
   * Places the model's instances (several with `replicas`, each on nodes the others do not use) and
   * adds them to the desired state; returns the first one's status, with every replica's.
   */
  async load(request: LoadRequest): Promise<InstanceStatus & { replicas: InstanceStatus[] }> {
    const { model, spec, draft } = await specForLoad(this.options.models, request);
    // The coordinator refuses a second load too (it alone sees loads from every node); this answers
    // before planning, which could otherwise fail for want of the memory the first one holds.
    if (this.desired.instances.some((instance) => instance.model === model.name)) {
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
    for (const [index, instance] of placed.entries()) {
      await this.options.cluster.changeDesired({
        type: "instance-placed",
        instance,
        cause: index === 0 ? "load" : "replica",
      });
    }
    await this.reconciling;
    const engines = this.options.store.current.local.engines;
    const statuses = placed.map((instance) => engines.get(instance.id)?.status ?? plannedStatus(instance));
    return { ...statuses[0]!, replicas: statuses };
  }

  /**
   * Stops new requests going to the instances that match (an instance id, a model, or a node whose
   * instances they are); the coordinator unloads each once its requests in flight are done.
   */
  async drain(match: { instance?: string; node?: NodeId }): Promise<PlacedInstance[]> {
    const targets = this.desired.instances.filter((instance) =>
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
    // Instances already draining keep the time their drain started.
    const ids = targets.map((instance) => instance.id);
    const state = await this.options.cluster.changeDesired({
      type: "drain-started",
      instanceIds: ids,
      since: new Date().toISOString(),
    });
    return state.instances.filter((instance) => ids.includes(instance.id));
  }

  /** Resolves once none of `ids` is in the desired state any more (a drain finished). */
  async waitUntilRemoved(ids: string[], signal?: AbortSignal): Promise<void> {
    await this.options.store.waitFor(
      (state) => !state.desired.instances.some((instance) => ids.includes(instance.id)),
      signal,
    );
    await this.reconciling;
  }

  /** Resolves once every one of `ids` is READY, here or on the node that heads it. */
  async waitUntilReady(ids: string[], signal?: AbortSignal): Promise<void> {
    const ready = (state: NodeState, id: string) =>
      state.local.engines.get(id as InstanceId)?.status.state === "READY" ||
      [...state.reports.values()].some((report) =>
        report.instances.some((summary) => summary.id === id && summary.state === "READY"),
      );
    await this.options.store.waitFor((state) => ids.every((id) => ready(state, id)), signal);
  }

  /** Removes a model's instances (or one instance) from the desired state; returns those that stopped here. */
  async unload(modelOrId: string): Promise<InstanceStatus[]> {
    const before = this.list().filter((status) => status.id === modelOrId || status.model === modelOrId);
    await this.options.cluster.changeDesired({
      type: "instances-removed",
      match: modelOrId,
      reason: "unloaded",
    });
    await this.reconciling;
    return before.map((status) => ({ ...status, state: "STOPPING" as const, reason: "unloaded" }));
  }

  /** This node's instances as heartbeats report them. */
  summaries(): InstanceSummary[] {
    return localInstanceSummaries(this.options.store.current, this.options.requests);
  }

  /** Instances headed here, with their plans: running ones, and suspended ones as FAILED with the reason. */
  list(): InstanceStatus[] {
    return localInstanceStatuses(this.options.store.current);
  }

  /** READY instances of a model that take new requests (not draining), with where to reach them. */
  ready(model: ModelName | string): Array<{ status: InstanceStatus; endpoint: EngineEndpoint }> {
    return readyLocalEngines(this.options.store.current, model);
  }

  /** Stops every engine (the desired state stays, so they come back at the next start). */
  async dispose(): Promise<void> {
    this.unsubscribe?.();
    await this.reconciling;
    await Promise.all([...this.running.keys()].map((id) => this.stopEngine(id, "the node is stopping")));
    await this.options.shards.dispose();
  }

  /** Kills every engine synchronously; for `process.on("exit")`. */
  killAllNow(): void {
    for (const { supervisor } of this.running.values()) supervisor.killNow();
    this.options.shards.killAllNow();
  }

  /** Stops an engine and closes its tunnels; returns its model. */
  private async stopEngine(id: InstanceId, reason?: string): Promise<ModelName> {
    const { supervisor, tunnels } = this.running.get(id)!;
    this.running.delete(id);
    this.options.store.apply({ type: "engine-stopped", instanceId: id });
    await supervisor.dispose(reason);
    for (const tunnel of tunnels) await tunnel.close();
    return supervisor.status.model;
  }
}
