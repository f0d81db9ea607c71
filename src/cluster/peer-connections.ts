import type { WebSocket } from "ws";
import type { ClusterMessage, NodeIntroduction, NodeProfile } from "../protocol/cluster.js";
import type { NodeEvent } from "../protocol/events.js";
import type { NodeId } from "../protocol/ids.js";
import type { Logger } from "../util/logger.js";
import { PeerDialer } from "./peer-dialer.js";
import { PeerSocket, parseClusterMessage } from "./peer-socket.js";

/** What a peer sends once it said hello. */
export type PeerMessage = Exclude<ClusterMessage, { type: "hello" }>;

export interface PeerConnectionsOptions {
  key: Buffer;
  introduction: NodeIntroduction;
  logger: Logger;
  publish: (event: NodeEvent) => void;
  /** This node's profile as last sampled, for its hello. */
  profile: () => NodeProfile;
  /** When a node was last heard from, if it is a member. */
  lastHeardAt: (id: NodeId) => number | undefined;
  /** A peer said hello: `peer` is its channel from now on. */
  onHello: (peer: PeerSocket, node: NodeIntroduction, profile: NodeProfile) => void;
  /** Any other message, from a peer that said hello. */
  onMessage: (peer: PeerSocket, from: NodeIntroduction, message: PeerMessage) => void;
  /** A peer's channel closed. */
  onLost: (id: NodeId) => void;
}

/**
 * A channel whose peer has said nothing for this long (heartbeats come every second) yields to a new
 * connection from the same peer: the path under it is likely gone.
 */
const quietChannelMs = 2000;

/**
 * This node's connections to its peers, one channel per peer whichever side dialed. A connection
 * becomes a peer's channel when its hello arrives; of two to one peer, the one the node with the
 * lower id opened is kept; a second running node with one id is reported, not merged. A closed
 * channel is dialed again at every address the peer announced.
 */
export class PeerConnections {
  private readonly channels = new Map<NodeId, PeerSocket>();
  private readonly pending = new Set<PeerSocket>();
  private readonly endpoints = new Set<string>();
  private readonly selfEndpoints: Set<string>;
  private readonly dialer: PeerDialer;

  constructor(private readonly options: PeerConnectionsOptions) {
    const self = options.introduction;
    this.selfEndpoints = new Set(self.endpoints);
    this.dialer = new PeerDialer({
      key: options.key,
      selfId: self.id,
      logger: options.logger,
      publish: options.publish,
      isSelf: (endpoint) => this.selfEndpoints.has(endpoint),
      isConnected: (endpoint) => this.connectedEndpoint(endpoint),
      onOpen: (socket, endpoint) => this.adopt(new PeerSocket(socket, true, endpoint)),
    });
  }

  /** Each peer's channel, by the peer's id. */
  get open(): ReadonlyMap<NodeId, PeerSocket> {
    return this.channels;
  }

  /**
   * Ends the channel to a peer that fell silent, so that its close dials every endpoint the peer has
   * again. A path that went away without a word (a cable pulled, a laptop undocked) leaves its TCP
   * connection established for as long as the kernel retransmits, many minutes, while the peer may
   * well be reachable over another path.
   */
  dropSilent(id: NodeId): void {
    this.channels.get(id)?.terminate();
  }

  /** Adds an endpoint to keep a connection to (discovery, `--peers`, a peer's heartbeat). */
  want(endpoint: string): void {
    if (this.selfEndpoints.has(endpoint) || this.endpoints.has(endpoint)) return;
    this.endpoints.add(endpoint);
    this.dialer.dial(endpoint);
  }

  /** A connection a peer opened to this node's channel server. */
  accept(socket: WebSocket, remote: string): void {
    this.adopt(new PeerSocket(socket, false, remote));
  }

  /** Sends `message` to every peer's channel. */
  broadcast(message: ClusterMessage): void {
    for (const socket of this.channels.values()) socket.send(message);
  }

  dispose(): void {
    this.dialer.dispose();
    for (const socket of [...this.channels.values(), ...this.pending]) socket.close(1001, "node stopping");
  }

  private connectedEndpoint(endpoint: string): boolean {
    for (const socket of this.channels.values()) {
      if (socket.isOpen && (socket.endpoint === endpoint || socket.peer?.endpoints.includes(endpoint)))
        return true;
    }
    return false;
  }

  /** Takes a new connection through hello to being this peer's channel. */
  private adopt(peer: PeerSocket): void {
    this.pending.add(peer);
    peer.send({ type: "hello", node: this.options.introduction, profile: this.options.profile() });
    peer.socket.on("message", (data) => {
      let message: ClusterMessage;
      try {
        message = parseClusterMessage(data as Buffer);
      } catch (error) {
        this.options.logger.warn(
          { endpoint: peer.endpoint, err: error },
          "malformed cluster message; closing the connection",
        );
        peer.close(1008, "malformed message");
        return;
      }
      if (message.type === "hello") this.hello(peer, message.node, message.profile);
      else if (peer.peer) this.options.onMessage(peer, peer.peer, message);
      else peer.close(1008, "hello first");
    });
    peer.socket.once("close", () => {
      this.pending.delete(peer);
      const id = peer.peer?.id;
      if (id && this.channels.get(id) === peer) {
        this.channels.delete(id);
        this.options.onLost(id);
        for (const endpoint of peer.peer?.endpoints ?? []) this.want(endpoint);
        for (const endpoint of peer.peer?.endpoints ?? []) this.dialer.dial(endpoint);
      }
    });
    peer.socket.on("error", () => {
      // The close handler above does the bookkeeping.
    });
  }

  private hello(peer: PeerSocket, node: NodeIntroduction, profile: NodeProfile): void {
    const self = this.options.introduction;
    if (node.id === self.id) {
      if (node.incarnation === self.incarnation) {
        // We dialed ourselves (our own address was among the peers): remember and stop.
        this.selfEndpoints.add(peer.endpoint);
        peer.close(4002, "self");
        return;
      }
      this.reportDuplicate(peer, node);
      return;
    }
    const existing = this.channels.get(node.id);
    if (existing?.isOpen && existing.peer) {
      const lastHeardAt = this.options.lastHeardAt(node.id);
      const recentlyHeard = lastHeardAt !== undefined && Date.now() - lastHeardAt < 3000;
      if (existing.peer.incarnation !== node.incarnation && recentlyHeard) {
        this.reportDuplicate(peer, node);
        return;
      }
      if (existing.peer.incarnation === node.incarnation) {
        // Both sides dialed: keep the connection the node with the lower id opened, unless the one
        // open has gone quiet: its path went away without a word, and the new one is the live one.
        const quiet = lastHeardAt === undefined || Date.now() - lastHeardAt > quietChannelMs;
        const keepNew = quiet || peer.outbound === self.id < node.id;
        if (!keepNew) {
          peer.peer = node;
          this.pending.delete(peer);
          peer.close(4000, "duplicate connection");
          return;
        }
        if (quiet) existing.terminate();
        else existing.close(4000, "duplicate connection");
      } else {
        existing.close(4003, "peer restarted");
      }
    }
    peer.peer = node;
    this.pending.delete(peer);
    this.channels.set(node.id, peer);
    for (const endpoint of node.endpoints) this.endpoints.add(endpoint);
    this.options.onHello(peer, node, profile);
  }

  private reportDuplicate(peer: PeerSocket, node: NodeIntroduction): void {
    const message = `node id ${node.id} is used by two running nodes (${node.name} at ${peer.endpoint} and another); was a HERD_HOME copied? Give one of them a fresh HERD_HOME.`;
    this.options.logger.error({ node: node.id, endpoint: peer.endpoint }, message);
    this.options.publish({ type: "duplicate-node-id", nodeId: node.id, endpoint: peer.endpoint });
    peer.close(4001, "duplicate node id");
  }
}
