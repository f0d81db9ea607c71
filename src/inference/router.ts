import type { EngineEndpoint } from "../engine/llama-server-supervisor.js";
import type { ModelStore } from "../models/model-store.js";
import { ModelNotLoadedError, ModelUnavailableError } from "../protocol/errors.js";
import type { InstanceId } from "../protocol/ids.js";
import type { InstanceStatus } from "../protocol/instance.js";

/** Where one request goes; `release()` must be called when the request is over. */
export interface Route {
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

/**
 * Chooses the instance that serves a request: among the READY instances of the model, the one with
 * the fewest requests in flight. Unknown, unloaded and not-yet-ready models are errors that say which.
 */
export class Router {
  private readonly inFlight = new Map<InstanceId, number>();

  constructor(
    private readonly models: ModelStore,
    private readonly instances: InstanceDirectory,
  ) {}

  async route(model: string): Promise<Route> {
    const candidates = this.instances.ready(model);
    if (candidates.length === 0) {
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
