import type { NodeState, NodeStore } from "../cluster/node-state.js";
import type { EngineEndpoint } from "../engine/llama-server-supervisor.js";
import type { ModelStore } from "../models/model-store.js";
import { ModelNotLoadedError, ModelUnavailableError, QueueFullError } from "../protocol/errors.js";
import type { InstanceId, NodeId } from "../protocol/ids.js";
import type { ModelRoute, RequestPolicy, Upstream } from "../protocol/upstream.js";
import { abortAfter } from "../util/abort-after.js";
import { RequestCounts } from "../util/request-counts.js";
import { localInstanceStatuses } from "../worker/local-instance-statuses.js";
import { chooseInstance, type ReadyInstance, readyInstances, slotsOf } from "./choose-instance.js";
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
  /** Whether a model's instance is being restarted or placed again, and how long a request waits for it. */
  recovery?: { recovering: (model: string) => boolean; waitMs: number };
  /** Upstreams and model routes; none by default. */
  gateway?: Gateway;
  /** Requests queued or running on one instance (here, or sent to its node) before more are refused. */
  maxQueuePerInstance?: number;
  /** Where this node's requests are counted; shared with the heartbeats that report them. */
  counts?: RequestCounts;
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
 *
 * The instances and their state come from the node's state; the requests this node has in flight
 * on each are counted here, on the hot path of every request, not as events.
 */
export class Router {
  private readonly counts: RequestCounts;
  private readonly affinity = new Map<string, string>();

  private readonly recovery: { recovering: (model: string) => boolean; waitMs: number };
  private readonly gateway: Gateway;
  private readonly maxQueuePerInstance: number;
  private readonly aliases: AliasDirectory | undefined;

  constructor(
    private readonly models: ModelStore,
    private readonly store: NodeStore,
    options: RouterOptions = {},
  ) {
    this.counts = options.counts ?? new RequestCounts();
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
        const before = this.store.current;
        // An alias's entries are other models: any change may be the one that makes an entry READY.
        const isAlias = this.aliases?.resolve(model, options) !== undefined;
        const served = (state: NodeState) =>
          state !== before &&
          (isAlias ||
            readyInstances(state, model, options.localOnly).length > 0 ||
            !this.recovery.recovering(model));
        const stop = abortAfter(deadline - Date.now(), options.signal);
        // Past the deadline, one last try says how the model is doing now.
        const timedOut = await this.store.waitFor(served, stop).then(
          () => false,
          (reason: unknown) => {
            if (options.signal?.aborted) throw reason;
            return true;
          },
        );
        if (timedOut) return this.route(model, options);
      }
    }
  }

  /**
   * Resolves once a request that failed on `failed` before anything reached its client may be
   * routed again: that instance is no longer READY, or the model's READY instances (or their load
   * as their heads report it) changed. Rejects when `signal` aborts.
   */
  async instancesChanged(model: string, failed: string, options: RouteOptions & { signal: AbortSignal }) {
    const seen = (state: NodeState) =>
      JSON.stringify(
        readyInstances(state, model, options.localOnly).map((instance) => [
          instance.instanceId,
          instance.local ? 0 : instance.othersInFlight,
        ]),
      );
    const before = seen(this.store.current);
    await this.store.waitFor(
      (state) =>
        !readyInstances(state, model, options.localOnly).some((instance) => instance.instanceId === failed) ||
        seen(state) !== before,
      options.signal,
    );
  }

  /** Resolves once an instance of `model` is READY and takes requests; rejects when `signal` aborts. */
  async whenReady(model: string, signal: AbortSignal): Promise<void> {
    await this.store.waitFor((state) => readyInstances(state, model).length > 0, signal);
  }

  /**
   * Whether a request for `model` may be answered outside the cluster: by an upstream (its route
   * allows one and the policy does not forbid it), or through an alias, whose entries may be upstreams.
   */
  mayLeaveCluster(model: string, policy: RequestPolicy): boolean {
    if (policy === "local-only") return false;
    if (this.resolveAlias(model) !== undefined) return true;
    return this.gateway.routeOf(model) !== "local-only" && this.gateway.upstreamsFor(model).length > 0;
  }

  /** The nodes an instance runs on now: its head, then the nodes of its shards. */
  instanceNodes(instanceId: string | undefined): NodeId[] {
    const instance = this.store.current.desired.instances.find((placed) => placed.id === instanceId);
    if (!instance) return [];
    return [...new Set([instance.node, ...(instance.plan?.shards.map((shard) => shard.node) ?? [])])];
  }

  /** Of `nodes`, those this node no longer hears from (suspected or gone). */
  nodesDown(nodes: readonly NodeId[]): NodeId[] {
    const members = this.store.current.members;
    return nodes.filter((node) => members.get(node)?.state !== "alive");
  }

  /** Chooses where a request goes now (see the class comment). */
  async route(model: string, options: RouteOptions = {}): Promise<Route> {
    const alias = this.aliases?.resolve(model, options);
    if (alias) return this.routeAlias(model, alias, options);
    const mayLeave = !options.localOnly && options.policy !== "local-only";
    const modelRoute = this.gateway.routeOf(model);
    const upstreams = mayLeave && modelRoute !== "local-only" ? this.gateway.upstreamsFor(model) : [];
    if (modelRoute === "upstream" && upstreams.length > 0) return this.toUpstream(model, upstreams);

    const choice = chooseInstance(this.store.current, {
      model,
      localOnly: options.localOnly,
      preferred: options.affinityKey ? this.affinity.get(options.affinityKey) : undefined,
      sentBy: (instanceId) => this.load(instanceId),
      maxQueuePerInstance: this.maxQueuePerInstance,
    });
    // Every instance's queue is full: the request overflows to an upstream if it may, else the
    // client hears so at once (503) instead of waiting behind a queue that only grows.
    if (choice.outcome === "full") {
      if (upstreams.length > 0) return this.toUpstream(model, upstreams);
      throw new QueueFullError(model, this.maxQueuePerInstance);
    }
    if (choice.outcome === "chosen") {
      const chosen = choice.instance;
      // Every instance is full: the request would queue, unless an upstream may take the overflow.
      if (slotsOf(chosen).free === 0 && upstreams.length > 0) return this.toUpstream(model, upstreams);
      if (options.affinityKey) this.remember(options.affinityKey, chosen.instanceId);
      return chosen.local ? this.toLocal(chosen) : this.toRemote(chosen);
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
    const waiting = localInstanceStatuses(this.store.current).find((status) => status.model === model);
    if (!waiting) throw new ModelNotLoadedError(model);
    throw new ModelUnavailableError(model, waiting.state, waiting.reason);
  }

  /** The entry a request (policy `any`) for `name` would go to now, when `name` is an alias. */
  resolveAlias(name: string): AliasResolution | undefined {
    return this.aliases?.resolve(name, {});
  }

  /** Requests in flight on an instance (or `upstream:NAME`) that this node routed. */
  load(instanceId: string): number {
    return this.counts.inFlight(instanceId);
  }

  /** Whether a READY instance of `model` serves it here or on another node now (from memory, no disk). */
  serves(model: string): boolean {
    return readyInstances(this.store.current, model).length > 0;
  }

  /** Requests this node has routed to an instance since it started. */
  servedBy(instanceId: string): number {
    return this.counts.served(instanceId);
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

  private toLocal(entry: ReadyInstance & { local: true }): LocalRoute {
    return {
      kind: "local",
      instanceId: entry.status.id,
      embeddings: entry.status.embeddings,
      endpoint: entry.endpoint,
      release: this.take(entry.status.id),
    };
  }

  private toRemote(entry: ReadyInstance & { local: false }): RemoteRoute {
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

  private take(key: string): () => void {
    return this.counts.take(key);
  }

  private remember(key: string, instanceId: string): void {
    this.affinity.delete(key);
    this.affinity.set(key, instanceId);
    if (this.affinity.size > affinityCapacity) {
      this.affinity.delete(this.affinity.keys().next().value!);
    }
  }
}
