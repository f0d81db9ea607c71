import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { z } from "zod";
import type { EngineQuirks } from "../engine/engine-quirks.js";
import { type EngineEndpoint, LlamaServerSupervisor } from "../engine/llama-server-supervisor.js";
import type { ModelStore } from "../models/model-store.js";
import type { EngineInstall } from "../protocol/engine.js";
import { ConflictError, InvalidRequestError, NotFoundError } from "../protocol/errors.js";
import type { NodeEvent } from "../protocol/events.js";
import type { InstanceId, ModelName } from "../protocol/ids.js";
import { InstanceSpec, type InstanceStatus } from "../protocol/instance.js";
import { readJsonFile, writeJsonAtomic } from "../util/json-file.js";
import type { Logger } from "../util/logger.js";

const DesiredState = z.object({ instances: z.array(InstanceSpec) });

export interface LoadRequest {
  model: string;
  contextSize?: number;
  parallel?: number;
  embeddings?: boolean;
  threads?: number;
}

export interface LocalInstancesOptions {
  stateDirectory: string;
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
 * Makes this machine's engine processes match the desired instances. The desired state is written
 * to `state/instances.json` before anything starts, so a restarted node brings back what ran.
 */
export class LocalInstances {
  private readonly supervisors = new Map<InstanceId, LlamaServerSupervisor>();
  private specs: InstanceSpec[] = [];
  private readonly path: string;

  constructor(private readonly options: LocalInstancesOptions) {
    this.path = join(options.stateDirectory, "instances.json");
  }

  /** Starts what the persisted desired state lists. */
  async restore(): Promise<void> {
    const saved = await readJsonFile(this.path, DesiredState);
    this.specs = saved?.instances ?? [];
    for (const spec of this.specs) {
      await this.startSupervisor(spec).catch((error: unknown) => {
        this.options.logger.error({ err: error, instance: spec.id }, "could not restore instance");
      });
    }
  }

  async load(request: LoadRequest): Promise<InstanceStatus> {
    const model = await this.options.models.require(request.model);
    if (this.specs.some((spec) => spec.model === model.name)) {
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
    this.specs = [...this.specs, spec];
    await this.save();
    return this.startSupervisor(spec);
  }

  async unload(modelOrId: string): Promise<InstanceStatus[]> {
    const matching = this.specs.filter((spec) => spec.id === modelOrId || spec.model === modelOrId);
    if (matching.length === 0) throw new NotFoundError(`no instance of '${modelOrId}' is loaded`);
    this.specs = this.specs.filter((spec) => !matching.includes(spec));
    await this.save();
    const stopped: InstanceStatus[] = [];
    for (const spec of matching) {
      const supervisor = this.supervisors.get(spec.id);
      this.supervisors.delete(spec.id);
      await supervisor?.dispose();
      if (supervisor) stopped.push(supervisor.status);
      this.options.publish({ type: "instance-removed", instanceId: spec.id, model: spec.model });
    }
    return stopped;
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

  private save(): Promise<void> {
    return writeJsonAtomic(this.path, { instances: this.specs });
  }
}
