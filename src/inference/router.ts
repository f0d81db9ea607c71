import type { EngineEndpoint } from "../engine/llama-server-supervisor.js";
import type { ModelStore } from "../models/model-store.js";
import { ModelNotLoadedError, ModelUnavailableError, QueueFullError } from "../protocol/errors.js";
import type { InstanceId, NodeId } from "../protocol/ids.js";
import type { InstanceStatus } from "../protocol/instance.js";
import { sleep } from "../util/backoff.js";

/** Where one request goes; `release()` must be called when the request is over. */
export type Route = LocalRoute | RemoteRoute;

/** An instance whose head runs on another node: the request is forwarded to that node. */
export interface RemoteRoute {
  kind: "remote";
  node: NodeId;
  endpoints: string[];
  instanceId: string;
  release(): void;
}

/** An instance headed here: the request goes to its llama-server. */
export interface LocalRoute {
  kind: "local";
  instanceId: InstanceId;
  /** The instance was started with embeddings on. */
  embeddings: boolean;
  endpoint: EngineEndpoint;
  release(): void;
}

/** What the router needs to know about instances. */
export interface InstanceDirectory {
  list(): InstanceStatus[];
  ready(model: string): Array<{ status: InstanceStatus; endpoint: EngineEndpoint }>;
}

/** READY instances of a model headed on other nodes, from the cluster's heartbeats. */
export type RemoteInstances = (
  model: string,
) => Array<{ node: NodeId; endpoints: string[]; instanceId: string }>;

/**
 * Chooses the instance that serves a request: among the READY instances of the model, the one with
 * the fewest requests in flight. Unknown, unloaded and not-yet-ready models are errors that say which.
 */
export class Router {
  private readonly inFlight = new Map<InstanceId, number>();

  constructor(
    private readonly models: ModelStore,
    private readonly instances: InstanceDirectory,
    private readonly remote: RemoteInstances = () => [],
    private readonly recovery: { recovering: (model: string) => boolean; waitMs: number } = {
      recovering: () => false,
      waitMs: 0,
    },
    /** Requests queued or running on one instance (here, or sent to its node) before more are refused. */
    private readonly maxQueuePerInstance = Number.POSITIVE_INFINITY,
  ) {}

  /**
   * Like `route`, but a request for a model whose instance is recovering (it served before and is
   * being restarted or placed again) waits for it, up to the recovery limit, instead of failing:
   * nothing has been sent to the client yet, so it loses nothing by waiting.
   */
  async routeOrWait(
    model: string,
    options: { localOnly?: boolean; signal?: AbortSignal } = {},
  ): Promise<Route> {
    const deadline = Date.now() + this.recovery.waitMs;
    for (;;) {
      try {
        return await this.route(model, options);
      } catch (error) {
        const waiting = error instanceof ModelUnavailableError || error instanceof ModelNotLoadedError;
        if (!waiting || Date.now() > deadline || options.signal?.aborted || !this.recovery.recovering(model))
          throw error;
        await sleep(200, options.signal);
      }
    }
  }

  /**
   * Chooses where a request goes: a READY instance headed here first (no extra hop), then one
   * headed elsewhere. `localOnly` is for requests another node already forwarded, so none bounces.
   */
  async route(model: string, options: { localOnly?: boolean } = {}): Promise<Route> {
    const ready = this.instances.ready(model);
    // An instance with a full queue is skipped; when every one is full the client hears so at once
    // (503) instead of waiting behind a queue that only grows.
    const candidates = ready.filter((candidate) => this.load(candidate.status.id) < this.maxQueuePerInstance);
    let full = ready.length > 0 && candidates.length === 0;
    if (candidates.length === 0 && !options.localOnly) {
      const reachable = this.remote(model);
      const remote = reachable.filter(
        (candidate) => this.load(candidate.instanceId as InstanceId) < this.maxQueuePerInstance,
      );
      full ||= reachable.length > 0 && remote.length === 0;
      if (remote.length > 0) {
        const target = remote.reduce((best, candidate) =>
          this.load(candidate.instanceId as InstanceId) < this.load(best.instanceId as InstanceId)
            ? candidate
            : best,
        );
        const key = target.instanceId as InstanceId;
        this.inFlight.set(key, this.load(key) + 1);
        let released = false;
        return {
          kind: "remote",
          ...target,
          release: () => {
            if (released) return;
            released = true;
            this.inFlight.set(key, this.load(key) - 1);
          },
        };
      }
    }
    if (full && candidates.length === 0) throw new QueueFullError(model, this.maxQueuePerInstance);
    if (candidates.length === 0) {
      if (this.recovery.recovering(model)) {
        throw new ModelUnavailableError(
          model,
          "RECOVERING",
          "its instance is being restarted or placed again",
        );
      }
      await this.models.require(model);
      const waiting = this.instances.list().find((status) => status.model === model);
      if (!waiting) throw new ModelNotLoadedError(model);
      throw new ModelUnavailableError(model, waiting.state, waiting.reason);
    }
    let best = candidates[0]!;
    for (const candidate of candidates) {
      if (this.load(candidate.status.id) < this.load(best.status.id)) best = candidate;
    }
    const instanceId = best.status.id;
    this.inFlight.set(instanceId, this.load(instanceId) + 1);
    let released = false;
    return {
      kind: "local",
      instanceId,
      embeddings: best.status.embeddings,
      endpoint: best.endpoint,
      release: () => {
        if (released) return;
        released = true;
        this.inFlight.set(instanceId, this.load(instanceId) - 1);
      },
    };
  }

  /** Requests in flight on an instance. */
  load(instanceId: InstanceId): number {
    return this.inFlight.get(instanceId) ?? 0;
  }
}
