import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { announcementKey, unannouncedShortfalls } from "../fabric/rdma-warnings.js";
import {
  type ClusterView,
  type DesiredEvent,
  type DesiredState,
  type InstanceSummary,
  type NodeIntroduction,
  type NodeProfile,
  RpcServerAddress,
} from "../protocol/cluster.js";
import type { NodeEvent } from "../protocol/events.js";
import type { NodeId } from "../protocol/ids.js";
import { parseJsonWithDepthLimit } from "../util/json-depth.js";
import type { Logger } from "../util/logger.js";
import { apiKeysDigest } from "./api-key-secrets.js";
import type { ApiKeyStore } from "./api-key-store.js";
import { type ChannelApp, type ChannelErrorMapping, createChannelApp } from "./channel-app.js";
import { channelRequest } from "./channel-request.js";
import { startClusterServer } from "./cluster-server.js";
import { clusterView } from "./cluster-view.js";
import type { DesiredStateStore } from "./desired-state-store.js";
import { DesiredStateSync } from "./desired-state-sync.js";
import { LinkMeasurer } from "./link-measurer.js";
import { shardRpcOf, shardRpcReport } from "./link-views.js";
import type { NodeState, NodeStateEvent, NodeStore } from "./node-state.js";
import { nodeStateChanges } from "./node-state-changes.js";
import { PeerConnections, type PeerMessage } from "./peer-connections.js";
import { pathsBetween } from "./peer-paths.js";
import type { PeerSocket } from "./peer-socket.js";
import { ProbeBudget, type ProbeTraffic } from "./probe-budget.js";
import type { RpcServerLookup } from "./rpc-tunnel.js";

export interface ClusterNodeOptions {
  id: NodeId;
  name: string;
  key: Buffer;
  /** Address and port the cluster channel listens on. */
  host: string;
  port: number;
  /** Where peers can reach this node (`host:port`); the listen address when it is specific. */
  advertise: string[];
  /** Peers to dial from the start (`--peers`, the join token's addresses). */
  peers: string[];
  /** Where the desired state is saved. */
  desired: DesiredStateStore;
  /**
   * The node's state, shared with the parts that run local processes: created by the wiring with
   * the desired state as it was saved (`createNodeStore`).
   */
  store: NodeStore;
  /** The cluster's API keys: every node converges on the same set. */
  apiKeys: ApiKeyStore;
  profile: () => NodeProfile;
  /** This node's instances, as heartbeats report them. */
  instances: () => InstanceSummary[];
  /**
   * Requests this node has sent to an instance headed elsewhere and not yet seen finish. Read when
   * the head's report arrives, so that what the report counts beyond it is other nodes' traffic.
   */
  sentInFlight?: (instanceId: string) => number;
  /** Names of the models this node holds. */
  models: () => string[];
  /** The local RPC servers that tunnels may reach, by name. */
  rpcServers: RpcServerLookup;
  /** More routes on the channel (model files for peers). */
  routes?: ChannelApp;
  /** How an error on the channel reaches the peer (the API's one error mapping). */
  mapError: ChannelErrorMapping;
  logger: Logger;
  publish: (event: NodeEvent) => void;
  /** Seconds between link measurements. Default 60. */
  linkIntervalSeconds?: number;
}

const heartbeatMs = 1000;
const tickMs = 250;

/**
 * This node's membership in the cluster: the channel server, connections to every peer, heartbeats,
 * the membership view, link measurements, coordinator election, and replication of the desired
 * state (only the coordinator writes it; everyone keeps the highest epoch).
 */
export class ClusterNode {
  readonly introduction: NodeIntroduction;
  /** Membership, the coordinator and links: changed only through `apply`. */
  private readonly store: NodeStore;
  private readonly connections: PeerConnections;
  private readonly linkMeasurer: LinkMeasurer;
  /** Bounds this node's throughput probes, made and served. */
  private readonly probeBudget: ProbeBudget;
  /** The desired state: changed here as coordinator or at the coordinator, replicated, saved. */
  private readonly desired: DesiredStateSync;
  private sequence = 0;
  private timers: NodeJS.Timeout[] = [];
  private server: Awaited<ReturnType<typeof startClusterServer>> | undefined;
  private stopped = false;
  private unsubscribeApiKeys: (() => void) | undefined;
  private unsubscribeShards: (() => void) | undefined;
  /** How this node's shards' RPC ran when last looked at, and the RDMA shortfalls already announced. */
  private shardRpcSeen = "";
  private readonly rdmaAnnounced = new Set<string>();

  constructor(private readonly options: ClusterNodeOptions) {
    this.introduction = {
      id: options.id,
      name: options.name,
      joinedAt: Date.now(),
      incarnation: randomBytes(8).toString("hex"),
      endpoints: options.advertise,
    };
    this.probeBudget = new ProbeBudget();
    this.linkMeasurer = new LinkMeasurer({
      key: options.key,
      selfId: options.id,
      logger: options.logger,
      publish: options.publish,
      peers: () =>
        [...this.connections.open].map(([id, socket]) => ({
          id,
          socket,
          endpoint:
            this.state.members.get(id)?.introduction.endpoints[0] ??
            (socket.outbound ? socket.endpoint : undefined),
          clusterPort: this.state.members.get(id)?.profile?.clusterPort,
          paths: pathsBetween(this.state, options.id, id),
        })),
      links: () => new Map([...this.state.links].filter(([, link]) => link.from === options.id)),
      onMeasured: (link) => this.apply({ type: "link-measured", link }),
      onForgotten: (keys) => this.apply({ type: "links-forgotten", keys }),
      budget: this.probeBudget,
      intervalSeconds: options.linkIntervalSeconds ?? 60,
    });
    this.connections = new PeerConnections({
      key: options.key,
      introduction: this.introduction,
      logger: options.logger,
      publish: options.publish,
      profile: () => this.profile,
      lastHeardAt: (id) => this.state.members.get(id)?.lastHeardAt,
      onHello: (peer, node, profile) => {
        this.apply({ type: "hello-received", introduction: node, profile, at: Date.now() });
        this.sendHeartbeat(peer);
      },
      onMessage: (peer, from, message) => this.receive(peer, from, message),
      onLost: (id) => this.apply({ type: "connection-lost", nodeId: id, at: Date.now() }),
    });
    this.store = options.store;
    this.desired = new DesiredStateSync({
      self: options.id,
      key: options.key,
      store: options.store,
      saved: options.desired,
      broadcast: (message) => this.connections.broadcast(message),
      publish: options.publish,
    });
    this.apply({
      type: "hello-received",
      introduction: this.introduction,
      profile: options.profile(),
      at: Date.now(),
    });
  }

  /** What this node knows of the cluster now. */
  get state(): NodeState {
    return this.store.current;
  }

  /** This node's own profile, as last sampled. */
  private get profile(): NodeProfile {
    return this.state.members.get(this.options.id)!.profile!;
  }

  /**
   * Starts the channel server, heartbeats and link measurements. `onApiRequest` serves an API
   * request another node forwarded (its path without the `/cluster/v1/api` prefix): the node's API,
   * which is built over this cluster node, so it is handed over only now.
   */
  async start(
    handlers: { onApiRequest?: (request: IncomingMessage, response: ServerResponse) => void } = {},
  ): Promise<void> {
    this.server = await startClusterServer({
      key: this.options.key,
      host: this.options.host,
      port: this.options.port,
      onPeerSocket: (socket, remote) => this.connections.accept(socket, remote),
      app: createChannelApp({
        rpcServers: this.options.rpcServers,
        probeBudget: this.probeBudget,
        changeDesired: (change) => this.desired.applyHere(change),
        onApiRequest: handlers.onApiRequest,
        routes: this.options.routes,
        mapError: this.options.mapError,
        logger: this.options.logger,
      }),
      rpcServers: this.options.rpcServers,
      onRefused: (address, reason) => {
        this.options.logger.warn({ address }, `refused a connection from ${address}: ${reason}`);
        this.options.publish({ type: "node-refused", address, reason });
      },
    });
    for (const peer of this.options.peers) this.want(peer);
    // A key created or revoked here reaches every peer at once (heartbeats repair anything missed).
    this.unsubscribeApiKeys = this.options.apiKeys.onChange((keys) =>
      this.connections.broadcast({ type: "api-keys", keys }),
    );
    this.unsubscribeShards = this.store.subscribe((state) => this.announceRdmaShortfalls(state));
    this.timers.push(setInterval(() => this.heartbeat(), heartbeatMs));
    this.timers.push(setInterval(() => this.apply({ type: "clock-ticked", at: Date.now() }), tickMs));
    this.timers.push(setInterval(() => this.sampleProfile(), 5000));
    this.linkMeasurer.start();
    for (const timer of this.timers) timer.unref();
  }

  /** Adds an endpoint to keep a connection to (discovery, `--peers`). */
  want(endpoint: string): void {
    this.connections.want(endpoint);
  }

  /** Where another node's RPC server for `name` listens (direct transport), if it is ready. */
  async rpcServerOf(node: NodeId, name: string): Promise<{ host: string; port: number } | undefined> {
    const member = this.state.members.get(node);
    if (!member) return undefined;
    const answer = await channelRequest({
      endpoints: member.introduction.endpoints,
      method: "GET",
      path: `/cluster/v1/rpc-servers/${encodeURIComponent(name)}`,
      key: this.options.key,
      selfId: this.options.id,
      timeoutMs: 5000,
    }).catch(() => undefined);
    return answer?.status === 200 ? RpcServerAddress.parse(parseJsonWithDepthLimit(answer.body)) : undefined;
  }

  /** Live nodes (this one included) whose store holds `model`. */
  nodesHolding(model: string): NodeId[] {
    const holders: NodeId[] = [];
    if (this.options.models().includes(model)) holders.push(this.options.id);
    for (const [node, report] of this.state.reports) {
      if (this.state.members.get(node)?.state === "alive" && report.models.includes(model))
        holders.push(node);
    }
    return holders;
  }

  get isCoordinator(): boolean {
    return this.state.coordinator === this.options.id;
  }

  get desiredState(): DesiredState {
    return this.state.desired;
  }

  onDesiredState(listener: (state: DesiredState) => void): () => void {
    return this.desired.onDesiredState(listener);
  }

  /** Applies a change to the desired state: here if this node coordinates, else at the coordinator. */
  changeDesired(change: DesiredEvent): Promise<DesiredState> {
    return this.desired.changeDesired(change);
  }

  /** Samples this node's profile now (its interfaces changed), rather than at the next 5 s sample. */
  sampleProfile(): void {
    if (!this.stopped) this.apply({ type: "profile-sampled", profile: this.options.profile() });
  }

  /** What this node's throughput probes cost so far. */
  probeTraffic(): ProbeTraffic {
    return this.probeBudget.traffic();
  }

  /** Probes the throughput of every path to `node` soon: a shard is about to be reached over one of them. */
  refreshPaths(node: NodeId): void {
    this.linkMeasurer.refreshThroughput(node);
  }

  view(): ClusterView {
    return clusterView(this.state, this.options.instances(), Date.now(), (name) =>
      shardRpcOf(this.state, name),
    );
  }

  async dispose(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribeApiKeys?.();
    this.unsubscribeShards?.();
    for (const timer of this.timers) clearInterval(timer);
    this.linkMeasurer.dispose();
    this.connections.dispose();
    await this.server?.close();
  }

  /**
   * Says so, once per path and engine word, when a shard here connects without RDMA over a path that
   * could carry it (`rdmaShortfalls`: the reason herd can see): the commonest failure of cabled
   * clusters, where everything works and much of the cable's speed is gone.
   */
  private announceRdmaShortfalls(state: NodeState): void {
    const shardRpc = [...state.local.shards].map(([name, shard]) => `${name}=${shard.rpc ?? ""}`).join("\n");
    if (shardRpc === this.shardRpcSeen) return;
    this.shardRpcSeen = shardRpc;
    for (const { key, rpc, warning } of unannouncedShortfalls(this.view(), this.rdmaAnnounced)) {
      this.rdmaAnnounced.add(announcementKey({ key, rpc, warning }));
      this.options.logger.warn({ path: key, rpc }, warning);
      this.options.publish({ type: "rdma-unused", rpc, warning });
    }
  }

  private apply(event: NodeStateEvent): { before: NodeState; after: NodeState } {
    const { before, after } = this.store.apply(event);
    if (before === after) return { before, after };
    const changes = nodeStateChanges(before, after);
    for (const change of changes) {
      if (change.type === "coordinator-changed") {
        this.options.logger.info(
          { coordinator: change.nodeId, previous: change.previous },
          "coordinator changed",
        );
      } else if (change.type === "node-state-changed" || change.type === "node-joined") {
        this.options.logger.info(
          { node: change.nodeId },
          `${change.name}: ${change.type === "node-joined" ? "joined" : `${change.state} (${change.reason})`}`,
        );
      }
      this.options.publish(change);
      if (event.type === "clock-ticked" && change.type === "node-state-changed" && change.state !== "alive")
        this.connections.dropSilent(change.nodeId);
    }
    // New measurements after a join, a return or a departure (not a mere suspicion).
    if (
      changes.some(
        (change) =>
          change.type === "node-joined" ||
          (change.type === "node-state-changed" && change.state !== "suspected"),
      )
    ) {
      this.linkMeasurer.measureSoon();
    }
    if (event.type === "heartbeat-received")
      this.linkMeasurer.interfacesReported(event.introduction.id, event.profile.interfaces);
    if (event.type === "profile-sampled")
      this.linkMeasurer.interfacesReported(this.options.id, event.profile.interfaces);
    return { before, after };
  }

  /** Turns a message from a peer into events, and answers it. */
  private receive(peer: PeerSocket, from: NodeIntroduction, message: PeerMessage): void {
    switch (message.type) {
      case "heartbeat": {
        this.apply({
          type: "heartbeat-received",
          introduction: from,
          profile: message.profile,
          links: message.links,
          instances: message.instances,
          models: message.models,
          sentInFlight: new Map(
            message.instances.map((instance) => [instance.id, this.options.sentInFlight?.(instance.id) ?? 0]),
          ),
          shards: message.shards,
          at: Date.now(),
        });
        for (const member of message.members) {
          if (member.id === this.options.id) continue;
          const known = this.connections.open.get(member.id);
          if (!known?.isOpen) for (const endpoint of member.endpoints) this.want(endpoint);
        }
        if (message.desiredEpoch < this.state.desired.epoch) {
          peer.send({ type: "desired-state", state: this.state.desired });
        }
        if (message.apiKeysDigest !== apiKeysDigest(this.options.apiKeys.list())) {
          // Each side sends its set when they differ; merging is a union, so both end up equal.
          peer.send({ type: "api-keys", keys: this.options.apiKeys.list() });
        }
        break;
      }
      case "api-keys":
        void this.options.apiKeys.merge(message.keys).then(
          (changed) => {
            if (changed) this.options.logger.info({ from: from.id }, "API keys updated from a peer");
          },
          (error: unknown) => this.options.logger.error({ err: error }, "cannot save API keys"),
        );
        break;
      case "desired-state":
        void this.desired.adopt(message.state, message.change);
        break;
      case "ping":
        peer.send({ type: "pong", id: message.id, sentAt: message.sentAt });
        break;
      case "pong":
        this.linkMeasurer.ponged(message.id, message.sentAt);
        break;
    }
  }

  private heartbeat(): void {
    for (const socket of this.connections.open.values()) this.sendHeartbeat(socket);
  }

  private sendHeartbeat(socket: PeerSocket): void {
    const members = [...this.state.members.values()]
      .filter((member) => member.state === "alive")
      .map((member) => member.introduction);
    const links = [...this.state.links.values()].filter((link) => link.from === this.options.id);
    socket.send({
      type: "heartbeat",
      sequence: this.sequence++,
      members,
      profile: this.profile,
      links,
      desiredEpoch: this.state.desired.epoch,
      instances: this.options.instances(),
      models: this.options.models(),
      apiKeysDigest: apiKeysDigest(this.options.apiKeys.list()),
      shards: shardRpcReport(this.state),
    });
  }
}
