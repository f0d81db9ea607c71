import type { ClusterView } from "../protocol/cluster.js";
import type { EngineReport } from "../protocol/engine.js";
import type { NodeEvent } from "../protocol/events.js";
import type { InstanceStatus } from "../protocol/instance.js";
import type {
  AddUpstreamRequest,
  ImportModelRequest,
  LoadModelRequest,
  ProgressLine,
  SynthModelRequest,
  UpstreamListing,
} from "../protocol/management.js";
import type { ModelProfile } from "../protocol/model-profile.js";
import type { ModelRoute } from "../protocol/upstream.js";
import { readLines } from "../util/line-decoder.js";
import { decodeServerSentEvents } from "../util/sse.js";

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
  memoryPerNode?: Array<{ node: string; neededBytes: number; availableBytes: number }>;
  predicted?: { decodeTokensPerSecond: number; prefillTokensPerSecond: number };
  reasons?: string[];
  alternatives?: Array<{
    nodes: string[];
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

/** An error answer from a herd node, with the fields of its error body. */
export class HerdApiError extends Error {
  override name = "HerdApiError";
  constructor(
    message: string,
    readonly status: number,
    readonly type: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** The node could not be reached at all. */
export class HerdUnreachableError extends Error {
  override name = "HerdUnreachableError";
}

export interface HerdClientOptions {
  /** Default `http://127.0.0.1:52415`. */
  baseUrl?: string;
  apiKey?: string;
}

/** A typed client of a herd node's management API; the CLI, the dashboard and tests use it. */
export class HerdClient {
  readonly baseUrl: string;
  private readonly apiKey: string | undefined;

  /** The API key this client sends, for other clients of the same node (load generators). */
  get apiKeyValue(): string | undefined {
    return this.apiKey;
  }

  constructor(options: HerdClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? "http://127.0.0.1:52415").replace(/\/$/, "");
    this.apiKey = options.apiKey;
  }

  node(): Promise<{ version: string; startedAt: string; pid: number }> {
    return this.request("GET", "/herd/v1/node");
  }

  cluster(): Promise<ClusterView> {
    return this.request("GET", "/herd/v1/cluster");
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
    for await (const line of readLines(response.body as unknown as AsyncIterable<Uint8Array>)) {
      if (line.trim() === "") continue;
      const message = JSON.parse(line) as ProgressLine;
      if (message.type === "progress") onProgress(message.completed, message.total);
      else if (message.type === "done") return message.result as ModelProfile;
      else throw new HerdApiError(message.error.message, 500, message.error.type, message.error.code);
    }
    throw new HerdApiError(
      "the node closed the progress stream before finishing",
      502,
      "server_error",
      "stream_cut",
    );
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

  /**
   * Subscribes to the node's events. Resolves once the node has registered the subscription, so
   * nothing that happens after this returns is missed; the iterable ends when `signal` aborts.
   */
  async subscribe(signal?: AbortSignal): Promise<AsyncIterable<NodeEvent>> {
    const response = await this.send("GET", "/herd/v1/events", undefined, signal);
    const body = response.body as unknown as AsyncIterable<Uint8Array>;
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
