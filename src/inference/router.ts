import type { EngineEndpoint } from "../engine/llama-server-supervisor.js";
import type { ModelStore } from "../models/model-store.js";
import { ModelNotLoadedError, ModelUnavailableError, QueueFullError } from "../protocol/errors.js";
import type { InstanceId, NodeId } from "../protocol/ids.js";
import type { InstanceStatus } from "../protocol/instance.js";
import type { ModelRoute, RequestPolicy, Upstream } from "../protocol/upstream.js";
import { sleep } from "../util/backoff.js";
import { type Candidate, chooseInstance, slotsOf } from "./choose-instance.js";
import type { AliasDirectory } from "./cluster-aliases.js";
import type { AliasResolution } from "./resolve-alias.js";

/**
 * Where one request goes; `release()` must be called when the request is over. `servedModel` is
 * the alias's entry that serves it, when the client asked for an alias.
 */
export type Route = (LocalRoute | RemoteRoute | UpstreamRoute) & { servedModel?: string };

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

/** An external service (the model's route allows it, and so does the request's policy). */
export interface UpstreamRoute {
  kind: "upstream";
  upstream: Upstream;
  /** The model's name at the upstream. */
  upstreamModel: string;
  /** Read from the node's environment (`Upstream.keyEnv`); absent when none is configured. */
  apiKey: string | undefined;
  release(): void;
}

/** What the router needs to know about instances. */
export interface InstanceDirectory {
  list(): InstanceStatus[];
  /** READY instances of the model that take new requests (not draining). */
  ready(model: string): Array<{ status: InstanceStatus; endpoint: EngineEndpoint }>;
}

/** READY instances of a model headed on other nodes, from the cluster's heartbeats. */
export type RemoteInstances = (model: string) => Array<{
  node: NodeId;
  endpoints: string[];
  instanceId: string;
  /** Slots (absent from older nodes). */
  parallel?: number;
  /** Requests other nodes had in flight on it, as its head last reported; this node's own are counted here. */
  othersInFlight?: number;
}>;

/** The cluster's upstreams and model routes (replicated with the desired state). */
export interface Gateway {
  upstreamsFor(model: string): Upstream[];
  routeOf(model: string): ModelRoute;
  /** The upstream's API key on this node. */
  keyOf(upstream: Upstream): string | undefined;
  /** Every model an upstream lists, with the first upstream that does. */
  upstreamModels?(): Array<{ name: string; upstream: string }>;
}

export interface RouteOptions {
  /** Served here or not at all (a request another node forwarded). */
  localOnly?: boolean;
  /** `local-only`: never to an upstream, whatever the model's route. Default `any`. */
  policy?: RequestPolicy;
  /** The conversation (see `conversationKey`), to keep it on the instance that caches its prompt. */
  affinityKey?: string;
  signal?: AbortSignal;
}

export interface RouterOptions {
  /** READY instances headed on other nodes; none by default (a node alone). */
  remote?: RemoteInstances;
  /** Whether a model's instance is being restarted or placed again, and how long a request waits for it. */
  recovery?: { recovering: (model: string) => boolean; waitMs: number };
  /** Upstreams and model routes; none by default. */
  gateway?: Gateway;
  /** Requests queued or running on one instance (here, or sent to its node) before more are refused. */
  maxQueuePerInstance?: number;
  /** Names that stand for a chain of models; none by default. */
  aliases?: AliasDirectory;
}

/** Conversations remembered for prompt-cache affinity; the oldest are forgotten first. */
const affinityCapacity = 10_000;

/**
 * Chooses where a request goes. Among the READY instances of the model, here and on other nodes, the
 * one holding the conversation's prompt cache while it has a free slot, else the one with the most
 * free slots, then the fewest queued. An upstream takes the request when the model's route says so:
 * always (`upstream`), or when every instance is full or down (`local-then-upstream`); never under a
 * `local-only` route or request policy. An instance with `maxQueuePerInstance` requests already is
 * skipped. Unknown, unloaded and not-yet-ready models are errors that say which.
 */
export class Router {
  private readonly inFlight = new Map<string, number>();
  private readonly served = new Map<string, number>();
  private readonly affinity = new Map<string, string>();

  private readonly remote: RemoteInstances;
  private readonly recovery: { recovering: (model: string) => boolean; waitMs: number };
  private readonly gateway: Gateway;
  private readonly maxQueuePerInstance: number;
  private readonly aliases: AliasDirectory | undefined;

  constructor(
    private readonly models: ModelStore,
    private readonly instances: InstanceDirectory,
    options: RouterOptions = {},
  ) {
    this.remote = options.remote ?? (() => []);
    this.recovery = options.recovery ?? { recovering: () => false, waitMs: 0 };
    this.gateway = options.gateway ?? {
      upstreamsFor: () => [],
      routeOf: () => "local-only",
      keyOf: () => undefined,
    };
    this.maxQueuePerInstance = options.maxQueuePerInstance ?? Number.POSITIVE_INFINITY;
    this.aliases = options.aliases;
  }

  /**
   * Like `route`, but a request for a model whose instance is recovering (it served before and is
   * being restarted or placed again) waits for it, up to the recovery limit, instead of failing:
   * nothing has been sent to the client yet, so it loses nothing by waiting.
   */
  async routeOrWait(model: string, options: RouteOptions = {}): Promise<Route> {
    const deadline = Date.now() + this.recovery.waitMs;
    for (;;) {
      try {
        return await this.route(model, options);
      } catch (error) {
        const waiting = error instanceof ModelUnavailableError || error instanceof ModelNotLoadedError;
        const recovering = this.recovery.recovering(model) || this.aliases?.switching(model) === true;
        if (!waiting || Date.now() > deadline || options.signal?.aborted || !recovering) throw error;
        await sleep(200, options.signal);
      }
    }
  }

  /** Chooses where a request goes now (see the class comment). */
  async route(model: string, options: RouteOptions = {}): Promise<Route> {
    const alias = this.aliases?.resolve(model, options);
    if (alias) return this.routeAlias(model, alias, options);
    const mayLeave = !options.localOnly && options.policy !== "local-only";
    const modelRoute = this.gateway.routeOf(model);
    const upstreams = mayLeave && modelRoute !== "local-only" ? this.gateway.upstreamsFor(model) : [];
    if (modelRoute === "upstream" && upstreams.length > 0) return this.toUpstream(model, upstreams);

    const local = this.instances.ready(model).map((entry) => ({
      instanceId: entry.status.id as string,
      local: true,
      parallel: entry.status.parallel,
      load: this.load(entry.status.id),
      entry,
    }));
    const remote = options.localOnly
      ? []
      : this.remote(model).map((entry) => ({
          instanceId: entry.instanceId,
          local: false,
          parallel: entry.parallel ?? 1,
          // This node's own requests, counted exactly, and other nodes' as the head last reported them
          // (a second old at most). Taking the head's whole count instead would count this node's
          // finished requests on it until the next report, and send the next burst to the others.
          load: this.load(entry.instanceId) + (entry.othersInFlight ?? 0),
          entry,
        }));
    const reachable: Array<(typeof local)[number] | (typeof remote)[number]> = [...local, ...remote];
    // An instance with a full queue is skipped; when every one is full the request overflows to an
    // upstream if it may, else the client hears so at once (503) instead of waiting behind a queue
    // that only grows.
    const candidates = reachable.filter((candidate) => candidate.load < this.maxQueuePerInstance);
    if (candidates.length === 0 && reachable.length > 0) {
      if (upstreams.length > 0) return this.toUpstream(model, upstreams);
      throw new QueueFullError(model, this.maxQueuePerInstance);
    }
    if (candidates.length > 0) {
      const chosen = chooseInstance<Candidate & (typeof candidates)[number]>(
        candidates,
        options.affinityKey ? this.affinity.get(options.affinityKey) : undefined,
      );
      // Every instance is full: the request would queue, unless an upstream may take the overflow.
      if (slotsOf(chosen).free === 0 && upstreams.length > 0) return this.toUpstream(model, upstreams);
      if (options.affinityKey) this.remember(options.affinityKey, chosen.instanceId);
      return chosen.local
        ? this.toLocal((chosen as (typeof local)[number]).entry)
        : this.toRemote((chosen as (typeof remote)[number]).entry);
    }
    if (upstreams.length > 0) return this.toUpstream(model, upstreams);
    if (this.recovery.recovering(model)) {
      throw new ModelUnavailableError(model, "RECOVERING", "its instance is being restarted or placed again");
    }
    if (modelRoute === "upstream" || this.gateway.upstreamsFor(model).length > 0) {
      // Only an upstream serves it, and this request may not go there.
      throw new ModelUnavailableError(
        model,
        "LOCAL-ONLY",
        "no instance in the cluster serves it and this request may not leave the cluster",
      );
    }
    await this.models.require(model);
    const waiting = this.instances.list().find((status) => status.model === model);
    if (!waiting) throw new ModelNotLoadedError(model);
    throw new ModelUnavailableError(model, waiting.state, waiting.reason);
  }

  /** The entry a request (policy `any`) for `name` would go to now, when `name` is an alias. */
  resolveAlias(name: string): AliasResolution | undefined {
    return this.aliases?.resolve(name, {});
  }

  /** Requests in flight on an instance (or `upstream:NAME`) that this node routed. */
  load(instanceId: string): number {
    return this.inFlight.get(instanceId) ?? 0;
  }

  /** Requests this node has routed to an instance since it started. */
  servedBy(instanceId: string): number {
    return this.served.get(instanceId) ?? 0;
  }

  /** Models that only upstreams serve, with the upstream that lists each first. */
  upstreamModels(): Array<{ name: string; upstream: string }> {
    return this.gateway.upstreamModels?.() ?? [];
  }

  /** A request for an alias goes where its chosen entry's own requests go. */
  private async routeAlias(
    alias: string,
    resolution: AliasResolution,
    options: RouteOptions,
  ): Promise<Route> {
    switch (resolution.kind) {
      case "model":
        return { ...(await this.route(resolution.model, options)), servedModel: resolution.model };
      case "upstream":
        return {
          kind: "upstream",
          upstream: resolution.upstream,
          upstreamModel: resolution.upstreamModel,
          apiKey: this.gateway.keyOf(resolution.upstream),
          release: this.take(`upstream:${resolution.upstream.name}`),
          servedModel: resolution.entry,
        };
      case "unavailable":
        throw new ModelUnavailableError(alias, resolution.state, resolution.reason);
    }
  }

  private toLocal(entry: { status: InstanceStatus; endpoint: EngineEndpoint }): LocalRoute {
    return {
      kind: "local",
      instanceId: entry.status.id,
      embeddings: entry.status.embeddings,
      endpoint: entry.endpoint,
      release: this.take(entry.status.id),
    };
  }

  private toRemote(entry: { node: NodeId; endpoints: string[]; instanceId: string }): RemoteRoute {
    return {
      kind: "remote",
      node: entry.node,
      endpoints: entry.endpoints,
      instanceId: entry.instanceId,
      release: this.take(entry.instanceId),
    };
  }

  private toUpstream(model: string, upstreams: Upstream[]): UpstreamRoute {
    const upstream = upstreams.reduce((best, candidate) =>
      this.load(`upstream:${candidate.name}`) < this.load(`upstream:${best.name}`) ? candidate : best,
    );
    return {
      kind: "upstream",
      upstream,
      upstreamModel: upstream.models.find((entry) => entry.name === model)?.upstreamName ?? model,
      apiKey: this.gateway.keyOf(upstream),
      release: this.take(`upstream:${upstream.name}`),
    };
  }

  /** Counts a request on `key` until the returned release is called (once). */
  private take(key: string): () => void {
    this.inFlight.set(key, this.load(key) + 1);
    this.served.set(key, this.servedBy(key) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight.set(key, this.load(key) - 1);
    };
  }

  private remember(key: string, instanceId: string): void {
    this.affinity.delete(key);
    this.affinity.set(key, instanceId);
    if (this.affinity.size > affinityCapacity) {
      this.affinity.delete(this.affinity.keys().next().value!);
    }
  }
}
