import type { EngineResponse } from "../inference/forward-to-engine.js";
import type { RemoteRoute, Router } from "../inference/router.js";
import type { ModelStore } from "../models/model-store.js";
import type { ClusterView } from "../protocol/cluster.js";
import type { EngineReport } from "../protocol/engine.js";
import type { NodeEvent } from "../protocol/events.js";
import type { PullModelRequest, PullProgress, SynthModelRequest } from "../protocol/management.js";
import type { ModelProfile } from "../protocol/model-profile.js";
import type { Logger } from "../util/logger.js";
import type { LocalInstances } from "../worker/local-instances.js";
import type { UpstreamRegistry } from "../worker/upstream-registry.js";

/** Everything the HTTP layer uses, wired by `main.ts`. */
export interface ApiDependencies {
  models: ModelStore;
  instances: LocalInstances;
  router: Router;
  logger: Logger;
  engineReport: () => Promise<EngineReport>;
  /** Writes a synthetic model into the store, reporting bytes written. */
  synthesize: (
    request: SynthModelRequest,
    onProgress: (written: number, total: number) => void,
    signal: AbortSignal,
  ) => Promise<ModelProfile>;
  /** Fetches a model from a hub into the store and registers it; absent where pulling is unavailable. */
  pull?: (
    request: PullModelRequest,
    onProgress: (progress: PullProgress) => void,
    signal: AbortSignal,
  ) => Promise<ModelProfile>;
  /** Sends a request to the node that heads the instance (over the cluster channel). */
  forwardToNode: (
    route: RemoteRoute,
    path: string,
    body: unknown,
    signal: AbortSignal,
  ) => Promise<EngineResponse>;
  subscribe: (listener: (event: NodeEvent) => void) => () => void;
  version: string;
  startedAt: Date;
  cluster: {
    view: () => ClusterView;
    /** The join token (a secret: it holds the cluster key). */
    joinToken: () => string;
  };
  /** External upstreams and model routes; absent where they are not managed (in-process tests). */
  upstreams?: UpstreamRegistry;
  /** The built dashboard, served at `/`; absent when it was not built. */
  dashboardDirectory?: string;
}
