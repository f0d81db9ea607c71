import { randomBytes } from "node:crypto";
import type { EngineQuirks } from "../engine/engine-quirks.js";
import { type EngineEndpoint, LlamaServerSupervisor } from "../engine/llama-server-supervisor.js";
import type { ModelStore } from "../models/model-store.js";
import type { DesiredChange, DesiredState, InstanceSummary, PlacedInstance } from "../protocol/cluster.js";
import type { EngineInstall } from "../protocol/engine.js";
import { ConflictError, InvalidRequestError, NotFoundError } from "../protocol/errors.js";
import type { NodeEvent } from "../protocol/events.js";
import type { InstanceId, ModelName, NodeId } from "../protocol/ids.js";
import { InstanceSpec, type InstanceStatus } from "../protocol/instance.js";
import type { Logger } from "../util/logger.js";

export interface LoadRequest {
  model: string;
  contextSize?: number;
  parallel?: number;
  embeddings?: boolean;
  threads?: number;
}

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
}

/**
 * Makes this machine's engine processes match the part of the cluster's desired state placed on
 * this node. Loads and unloads change the desired state (through the coordinator); the processes
 * follow when the new state arrives, and a restarted node brings back what its desired state lists.
 */
export class LocalInstances {
  private readonly supervisors = new Map<InstanceId, LlamaServerSupervisor>();
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
      const wanted = new Map(this.mine(state).map((instance) => [instance.id, instance]));
      for (const [id, supervisor] of [...this.supervisors]) {
        if (wanted.has(id)) continue;
        this.supervisors.delete(id);
        await supervisor.dispose();
        this.options.publish({ type: "instance-removed", instanceId: id, model: supervisor.status.model });
      }
      for (const instance of wanted.values()) {
        if (this.supervisors.has(instance.id)) continue;
        await this.startSupervisor(InstanceSpec.parse(instance)).catch((error: unknown) => {
          this.options.logger.error({ err: error, instance: instance.id }, "could not start instance");
        });
      }
    });
    return this.reconciling;
  }

  async load(request: LoadRequest): Promise<InstanceStatus> {
    const model = await this.options.models.require(request.model);
    if (this.mine(this.options.cluster.desiredState).some((spec) => spec.model === model.name)) {
      throw new ConflictError(
        `model '${model.name}' is already loaded; unload it first to change its settings`,
      );
    }
    const parallel = request.parallel ?? 4;
    const contextSize = request.contextSize ?? Math.min(model.trainContextLength || 4096, 4096) * parallel;
    if (contextSize < parallel)
      throw new InvalidRequestError("context size must be at least one token per slot", "contextSize");
    const spec = InstanceSpec.parse({
      id: `${model.name.replace(/[^A-Za-z0-9_-]/g, "-")}-${randomBytes(3).toString("hex")}`,
      model: model.name,
      contextSize,
      parallel,
      embeddings: request.embeddings ?? model.isEmbeddingModel,
      threads: request.threads,
      createdAt: new Date().toISOString(),
    });
    // The engine must exist before the instance is promised.
    await this.options.engine();
    await this.options.cluster.changeDesired({
      op: "add-instance",
      instance: { ...spec, node: this.options.nodeId },
    });
    await this.reconciling;
    return this.supervisors.get(spec.id)?.status ?? planned(spec);
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
    }));
  }

  list(): InstanceStatus[] {
    return [...this.supervisors.values()].map((supervisor) => supervisor.status);
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
  }

  /** Kills every engine synchronously; for `process.on("exit")`. */
  killAllNow(): void {
    for (const supervisor of this.supervisors.values()) supervisor.killNow();
  }

  private async startSupervisor(spec: InstanceSpec): Promise<InstanceStatus> {
    const model = await this.options.models.require(spec.model);
    const engine = await this.options.engine();
    const supervisor = new LlamaServerSupervisor({
      spec,
      model,
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
      },
      onWorkaround: (flag, reason) =>
        this.options.publish({ type: "engine-workaround-applied", flag, reason }),
    });
    this.supervisors.set(spec.id, supervisor);
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
