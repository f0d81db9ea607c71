import type { Readable } from "node:stream";
import type { ProbeTraffic } from "../cluster/probe-budget.js";
import type { EngineResponse } from "../inference/forward-to-engine.js";
import type { RemoteRoute, Router } from "../inference/router.js";
import type { ModelStore } from "../models/model-store.js";
import type { ApiKeyRecord, CreateApiKeyRequest, CreatedApiKey } from "../protocol/api-keys.js";
import type { ClusterView } from "../protocol/cluster.js";
import type { EngineReport } from "../protocol/engine.js";
import type { NodeEvent } from "../protocol/events.js";
import type { NodeId } from "../protocol/ids.js";
import type {
  FitModelsRequest,
  FitReport,
  PullModelRequest,
  PullProgress,
  StopReport,
  SynthModelRequest,
  VerifyProgress,
  VerifyReport,
} from "../protocol/management.js";
import type { ModelProfile } from "../protocol/model-profile.js";
import type { Logger } from "../util/logger.js";
import type { AliasRegistry } from "../worker/alias-registry.js";
import type { LocalInstances } from "../worker/local-instances.js";
import type { UpstreamRegistry } from "../worker/upstream-registry.js";
import type { ResponseStore } from "./openai/responses/response-store.js";
import type { ApiKeyDirectory } from "./security/api-security.js";

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
  /** Re-hashes stored models here, or asks another node over the cluster channel; absent in unit tests. */
  verify?: {
    here: (
      models: string[] | undefined,
      onProgress: (progress: VerifyProgress) => void,
      signal: AbortSignal,
    ) => Promise<VerifyReport>;
    onNode: (
      node: NodeId,
      models: string[] | undefined,
      signal: AbortSignal,
    ) => Promise<{ status: number; contentType: string; body: Readable }>;
  };
  /**
   * Stops this node's process (after moving its instances to other nodes with `drain`), or asks
   * another node to stop; absent where nothing owns the process (a node started in-process).
   */
  stop?: {
    here: (options: { drain: boolean }, signal: AbortSignal) => Promise<StopReport>;
    onNode: (node: NodeId, options: { drain: boolean }) => Promise<{ status: number; body: string }>;
  };
  /** Which models (local, or a hub repository's quantizations) fit the cluster now; absent where unavailable. */
  fit?: (request: FitModelsRequest, signal: AbortSignal) => Promise<FitReport>;
  /** Sends a request to the node that heads the instance (over the cluster channel). */
  forwardToNode: (
    route: RemoteRoute,
    path: string,
    body: unknown,
    signal: AbortSignal,
  ) => Promise<EngineResponse>;
  subscribe: (listener: (event: NodeEvent) => void) => () => void;
  /** Finished Responses API responses, for `previous_response_id`; one per node, disposed with it. */
  responses: ResponseStore;
  version: string;
  startedAt: Date;
  cluster: {
    view: () => ClusterView;
    /** The join token (a secret: it holds the cluster key). */
    joinToken: () => string;
    /** What this node's throughput probes cost so far. */
    probeTraffic?: () => ProbeTraffic;
  };
  /** The node's log file, and another node's log read over the cluster channel; absent in unit tests. */
  logs?: {
    path: string;
    fromNode: (
      node: NodeId,
      query: { lines: number; follow: boolean },
      signal: AbortSignal,
    ) => Promise<{ status: number; contentType: string; body: Readable }>;
  };
  /** The cluster's API keys (shared by every node). */
  apiKeys: ApiKeyDirectory & {
    create(request: CreateApiKeyRequest): Promise<CreatedApiKey>;
    revoke(id: string): Promise<ApiKeyRecord>;
  };
  security: {
    /** The API listens on an address other machines can reach. */
    exposed: boolean;
    /** `--insecure-no-auth`: no key is asked for even when exposed. */
    insecureNoAuth: boolean;
    /** Origins allowed to call the API from a browser; none turns CORS off. */
    corsOrigins: readonly string[];
    maxBodyBytes: number;
  };
  /** External upstreams and model routes; absent where they are not managed (in-process tests). */
  upstreams?: UpstreamRegistry;
  /** Aliases of models; absent where they are not managed (in-process tests). */
  aliases?: AliasRegistry;
  /** The built dashboard, served at `/`; absent when it was not built. */
  dashboardDirectory?: string;
  /** Load a known model that no instance serves when a request asks for it (`--autoload`). Default false. */
  autoload?: boolean;
  /**
   * How long a reply whose instance failed mid-way waits for one to continue it (`--failover-timeout`);
   * absent or 0: it ends with an error. Default absent.
   */
  failoverTimeoutMs?: number;
  /** Streamed tokens that come faster than two per this many milliseconds leave in one write per window (`--stream-gather`). Default 0. */
  streamGatherMs?: number;
  /** Publishes a fact on the node's event stream (`/herd/v1/events`); absent where there is none. */
  publish?: (event: NodeEvent) => void;
}
