import type { AliasListing, AliasStatus, SetAliasRequest } from "../protocol/aliases.js";
import type { ApiKeyView, CreateApiKeyRequest, CreatedApiKey } from "../protocol/api-keys.js";
import type { ClusterView } from "../protocol/cluster.js";
import type { EngineReport } from "../protocol/engine.js";
import type { NodeEvent } from "../protocol/events.js";
import type { HealthReport } from "../protocol/health.js";
import type { InstanceStatus } from "../protocol/instance.js";
import type { RpcRoute } from "../protocol/instance-plan.js";
import type {
  AddUpstreamRequest,
  FitModelsRequest,
  FitReport,
  ImportModelRequest,
  LoadModelRequest,
  PullModelRequest,
  PullProgress,
  StopNodeRequest,
  StopReport,
  SynthModelRequest,
  UpstreamListing,
  VerifyModelsRequest,
  VerifyReport,
} from "../protocol/management.js";
import type { ModelProfile } from "../protocol/model-profile.js";
import type { ModelRoute } from "../protocol/upstream.js";
import { readLines } from "../util/line-decoder.js";
import { decodeServerSentEvents } from "../util/sse.js";
import { HerdApiError, HerdUnreachableError } from "./herd-errors.js";
import { bodyChunks, type ChatStreamPart, readChatStream, readProgress } from "./response-streams.js";

export type { ChatStreamPart };
export { HerdApiError, HerdUnreachableError };

/** The planner's answer as the API returns it (see `placement/placement-types.ts`). */
export interface PlanView {
  head: string;
  splitMode: string;
  shards: Array<{
    node: string;
    layerStart: number;
    layerEnd: number;
    fraction: number;
    totalBytes?: number;
  }>;
  memoryPerNode?: Array<{
    node: string;
    neededBytes: number;
    availableBytes: number;
    freeAfterBytes?: number;
  }>;
  predicted?: { decodeTokensPerSecond: number; prefillTokensPerSecond: number };
  /** The nodes whose RPC servers the head uses, in `--rpc` order, and how it reaches each. */
  rpcNodes?: string[];
  rpcTransport?: "tunnel" | "direct";
  rpcRoutes?: RpcRoute[];
  reasons?: string[];
  alternatives?: Array<{
    nodes: string[];
    head?: string;
    splitMode: string;
    fits: boolean;
    predicted?: { decodeTokensPerSecond: number };
    why: string;
  }>;
  llamaServerArgs?: string[];
  /** A local model that could draft for this one (speculative decoding). */
  draftSuggestion?: { model: string; sizeBytes: number; reason: string };
}

/** Instances a drain stopped sending requests to; `drained`: they are unloaded too. */
export interface DrainResult {
  draining: string[];
  drained: boolean;
}

/** A chat request in OpenAI's shape, as far as herd's own tools use it. */
export interface ChatRequest {
  model: string;
  messages: Array<{ role: "system" | "user" | "assistant"; content: string }>;
  temperature?: number;
  max_tokens?: number;
  seed?: number;
}

/** `GET /herd/v1/node`. */
export interface NodeInfo {
  version: string;
  startedAt: string;
  pid: number;
  security: {
    /** Requests must carry an API key. */
    authRequired: boolean;
    /** Started with `--insecure-no-auth`. */
    insecureNoAuth: boolean;
    /** The API listens on an address other machines can reach. */
    exposed: boolean;
    activeKeys: number;
    cors: boolean;
  };
}

export interface HerdClientOptions {
  /** Default `http://127.0.0.1:52415`. */
  baseUrl?: string;
  apiKey?: string;
}

/** A typed client of a herd node's management API; the CLI, the dashboard and tests use it. */
export class HerdClient {
  readonly baseUrl: string;
  readonly apiKey: string | undefined;

  /** The API key this client sends, for other clients of the same node (load generators). */
  get apiKeyValue(): string | undefined {
    return this.apiKey;
  }

  constructor(options: HerdClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? "http://127.0.0.1:52415").replace(/\/$/, "");
    this.apiKey = options.apiKey;
  }

  node(): Promise<NodeInfo> {
    return this.request("GET", "/herd/v1/node");
  }

  async keys(): Promise<ApiKeyView[]> {
    return (await this.request<{ keys: ApiKeyView[] }>("GET", "/herd/v1/keys")).keys;
  }

  /** Creates an API key; the answer holds its secret, which the node never shows again. */
  createKey(request: CreateApiKeyRequest): Promise<CreatedApiKey> {
    return this.request("POST", "/herd/v1/keys", request);
  }

  async revokeKey(id: string): Promise<ApiKeyView> {
    return (await this.request<{ revoked: ApiKeyView }>("DELETE", `/herd/v1/keys/${encodeURIComponent(id)}`))
      .revoked;
  }

  cluster(): Promise<ClusterView> {
    return this.request("GET", "/herd/v1/cluster");
  }

  /** Stops this node, or `request.node`; with `drain`, once its instances run elsewhere. */
  stopNode(request: StopNodeRequest = {}): Promise<StopReport> {
    return this.request("POST", "/herd/v1/node/stop", request);
  }

  /** The cluster's health verdict and findings, as this node sees them. */
  health(): Promise<HealthReport> {
    return this.request("GET", "/herd/v1/health");
  }

  async joinToken(): Promise<string> {
    return (await this.request<{ token: string }>("GET", "/herd/v1/join-token")).token;
  }

  engine(): Promise<EngineReport> {
    return this.request("GET", "/herd/v1/engine");
  }

  async models(): Promise<Array<ModelProfile & { instances: string[] }>> {
    return (
      await this.request<{ models: Array<ModelProfile & { instances: string[] }> }>("GET", "/herd/v1/models")
    ).models;
  }

  importModel(request: ImportModelRequest): Promise<ModelProfile> {
    return this.request("POST", "/herd/v1/models/import", request);
  }

  removeModel(name: string, options: { force?: boolean } = {}): Promise<{ removed: string }> {
    return this.request(
      "DELETE",
      `/herd/v1/models/${encodeURIComponent(name)}${options.force ? "?force=true" : ""}`,
    );
  }

  /** Writes a synthetic model on the node; `onProgress` sees bytes written. */
  async synthModel(
    request: SynthModelRequest,
    onProgress: (completed: number, total: number) => void = () => {},
    signal?: AbortSignal,
  ): Promise<ModelProfile> {
    const response = await this.send("POST", "/herd/v1/models/synth", request, signal);
    return (await readProgress(response, (line) => {
      if (line.type === "progress") onProgress(line.completed, line.total);
    })) as ModelProfile;
  }

  /** Fetches a model from a hub into the node's store; `onProgress` sees bytes, speed and phase. */
  async pullModel(
    request: PullModelRequest,
    onProgress: (progress: PullProgress) => void = () => {},
    signal?: AbortSignal,
  ): Promise<ModelProfile> {
    const response = await this.send("POST", "/herd/v1/models/pull", request, signal);
    return (await readProgress(response, (line) => {
      if (line.type !== "progress") return;
      const { type: _, ...progress } = line;
      onProgress({ ...progress, phase: progress.phase ?? "downloading" });
    })) as ModelProfile;
  }

  /** Re-hashes stored models against their recorded sha256 (on `request.node`, else this node). */
  async verifyModels(
    request: VerifyModelsRequest,
    onProgress: (completed: number, total: number) => void = () => {},
    signal?: AbortSignal,
  ): Promise<VerifyReport> {
    const response = await this.send("POST", "/herd/v1/models/verify", request, signal);
    return (await readProgress(response, (line) => {
      if (line.type === "progress") onProgress(line.completed, line.total);
    })) as VerifyReport;
  }

  /** Which models fit the cluster now (local ones, or a hub repository's quantizations), best first. */
  fitModels(request: FitModelsRequest): Promise<FitReport> {
    return this.request("POST", "/herd/v1/models/fit", request);
  }

  async instances(): Promise<InstanceStatus[]> {
    return (await this.request<{ instances: InstanceStatus[] }>("GET", "/herd/v1/instances")).instances;
  }

  /** Loads a model; the answer is its first instance, with every replica's status. */
  load(request: LoadModelRequest): Promise<InstanceStatus & { replicas?: InstanceStatus[] }> {
    return this.request("POST", "/herd/v1/instances", request);
  }

  /** Stops new requests going to an instance (or a model's instances), then unloads it once idle. */
  drainInstance(idOrModel: string, options: { wait?: boolean } = {}): Promise<DrainResult> {
    return this.request(
      "POST",
      `/herd/v1/instances/${encodeURIComponent(idOrModel)}/drain${options.wait === false ? "?wait=false" : ""}`,
    );
  }

  /** Drains every instance that runs on a node (by name or id). */
  drainNode(node: string, options: { wait?: boolean } = {}): Promise<DrainResult> {
    return this.request(
      "POST",
      `/herd/v1/nodes/${encodeURIComponent(node)}/drain${options.wait === false ? "?wait=false" : ""}`,
    );
  }

  upstreams(): Promise<UpstreamListing> {
    return this.request("GET", "/herd/v1/upstreams");
  }

  addUpstream(request: AddUpstreamRequest): Promise<UpstreamListing> {
    return this.request("POST", "/herd/v1/upstreams", request);
  }

  removeUpstream(name: string): Promise<UpstreamListing> {
    return this.request("DELETE", `/herd/v1/upstreams/${encodeURIComponent(name)}`);
  }

  /** Sets where a model's requests may go (null: back to the default). */
  setRoute(model: string, route: ModelRoute | null): Promise<UpstreamListing> {
    return this.request("PUT", `/herd/v1/routes/${encodeURIComponent(model)}`, { route });
  }

  aliases(): Promise<AliasListing> {
    return this.request("GET", "/herd/v1/aliases");
  }

  /** Sets an alias's chain (a model's name, or `upstream:<name>/<model>` per entry). */
  setAlias(name: string, request: SetAliasRequest): Promise<AliasStatus> {
    return this.request("PUT", `/herd/v1/aliases/${encodeURIComponent(name)}`, request);
  }

  removeAlias(name: string): Promise<AliasListing> {
    return this.request("DELETE", `/herd/v1/aliases/${encodeURIComponent(name)}`);
  }

  /** The planner's dry run for a load request. */
  plan(request: LoadModelRequest): Promise<PlanView> {
    return this.request("POST", "/herd/v1/plans", request);
  }

  async unload(idOrModel: string): Promise<InstanceStatus[]> {
    return (
      await this.request<{ stopped: InstanceStatus[] }>(
        "DELETE",
        `/herd/v1/instances/${encodeURIComponent(idOrModel)}`,
      )
    ).stopped;
  }

  /** Streams a chat answer (OpenAI `/v1/chat/completions` with `stream: true`); abort `signal` to stop it. */
  async *streamChat(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatStreamPart> {
    const response = await this.send(
      "POST",
      "/v1/chat/completions",
      { ...request, stream: true, stream_options: { include_usage: true } },
      signal,
    );
    yield* readChatStream(response);
  }

  /**
   * Subscribes to the node's events. Resolves once the node has registered the subscription, so
   * nothing that happens after this returns is missed; the iterable ends when `signal` aborts.
   */
  async subscribe(signal?: AbortSignal): Promise<AsyncIterable<NodeEvent>> {
    const response = await this.send("GET", "/herd/v1/events", undefined, signal);
    const body = bodyChunks(response);
    return (async function* () {
      try {
        for await (const event of decodeServerSentEvents(body)) {
          if (event.event === "event") yield JSON.parse(event.data) as NodeEvent;
        }
      } catch (error) {
        if (!signal?.aborted) throw error;
      }
    })();
  }

  /**
   * A node's log lines (JSON, as written): the last `lines`, then with `follow` each new one until
   * `signal` aborts. `node` names another node of the cluster; this node's log when absent.
   */
  async logs(
    options: { node?: string; lines?: number; follow?: boolean } = {},
    signal?: AbortSignal,
  ): Promise<AsyncIterable<string>> {
    const search = new URLSearchParams();
    if (options.node !== undefined) search.set("node", options.node);
    if (options.lines !== undefined) search.set("lines", String(options.lines));
    if (options.follow) search.set("follow", "true");
    const response = await this.send("GET", `/herd/v1/logs?${search}`, undefined, signal);
    const body = response.body as unknown as AsyncIterable<Uint8Array>;
    return (async function* () {
      try {
        for await (const line of readLines(body)) if (line !== "") yield line;
      } catch (error) {
        if (!signal?.aborted) throw error;
      }
    })();
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body);
    return (await response.json()) as T;
  }

  private async send(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (error) {
      throw new HerdUnreachableError(`no herd node answers at ${this.baseUrl} (is 'herd start' running?)`, {
        cause: error,
      });
    }
    if (!response.ok) {
      const text = await response.text();
      let parsed: { error?: { message?: string; type?: string; code?: string } } = {};
      try {
        parsed = JSON.parse(text);
      } catch {
        // Not JSON: report the raw text below.
      }
      throw new HerdApiError(
        parsed.error?.message ?? (text || response.statusText),
        response.status,
        parsed.error?.type ?? "unknown",
        parsed.error?.code ?? String(response.status),
      );
    }
    return response;
  }
}
