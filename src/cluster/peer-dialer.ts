import { WebSocket } from "ws";
import type { NodeEvent } from "../protocol/events.js";
import type { NodeId } from "../protocol/ids.js";
import { Backoff } from "../util/backoff.js";
import type { Logger } from "../util/logger.js";
import { clusterClientTlsOptions, describeTlsFailure } from "./secure-channel.js";

export interface PeerDialerOptions {
  key: Buffer;
  selfId: NodeId;
  logger: Logger;
  publish: (event: NodeEvent) => void;
  /** Whether `endpoint` is this node's own address (learned when it dialed itself). */
  isSelf: (endpoint: string) => boolean;
  /** Whether a connection to the node at `endpoint` is open already. */
  isConnected: (endpoint: string) => boolean;
  /** A connection to `endpoint` opened: it becomes the peer's channel after hello. */
  onOpen: (socket: WebSocket, endpoint: string) => void;
}

/** How long the dialer waits between attempts at one endpoint: from half a second to five. */
const newBackoff = () => new Backoff({ initialMs: 500, maxMs: 5000 });

/**
 * Keeps a cluster WebSocket open to each endpoint it is asked to dial: it tries again with backoff
 * when a connection fails or closes, and says once per endpoint when a peer refuses this node's key.
 */
export class PeerDialer {
  private readonly dialing = new Map<
    string,
    { timer: NodeJS.Timeout | undefined; backoff: Backoff; busy: boolean }
  >();
  private readonly refusedBy = new Set<string>();
  private stopped = false;

  constructor(private readonly options: PeerDialerOptions) {}

  /** Opens a connection to `endpoint` unless one is open or being opened. */
  dial(endpoint: string): void {
    if (this.stopped) return;
    let dialer = this.dialing.get(endpoint);
    if (!dialer) {
      dialer = { timer: undefined, backoff: newBackoff(), busy: false };
      this.dialing.set(endpoint, dialer);
    }
    if (dialer.busy || dialer.timer) return;
    if (this.options.isConnected(endpoint)) return;
    dialer.busy = true;
    const socket = new WebSocket(`wss://${endpoint}/cluster/v1/ws`, {
      ...clusterClientTlsOptions(this.options.key, this.options.selfId),
      handshakeTimeout: 3000,
      maxPayload: 8 * 1024 * 1024,
    });
    const retry = (reason?: string) => {
      dialer.busy = false;
      if (this.stopped || this.options.isSelf(endpoint)) return;
      if (reason) this.options.logger.debug({ endpoint }, `cannot reach ${endpoint}: ${reason}`);
      const delay = dialer.backoff.nextDelay(0);
      dialer.timer = setTimeout(() => {
        dialer.timer = undefined;
        this.dial(endpoint);
      }, delay);
      dialer.timer.unref();
    };
    let opened = false;
    let failure: NodeJS.ErrnoException | undefined;
    socket.once("open", () => {
      opened = true;
      this.refusedBy.delete(endpoint);
      dialer.busy = false;
      dialer.backoff = newBackoff();
      this.options.onOpen(socket, endpoint);
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      failure ??= error;
    });
    // ws reports a failed connection as an error followed by close; either way close comes last.
    socket.once("close", () => {
      if (opened) return retry();
      const reason = failure ? describeTlsFailure(failure) : "connection closed";
      if (/cluster's key/.test(reason) && !this.refusedBy.has(endpoint)) this.reportRefusal(endpoint);
      retry(reason);
    });
  }

  dispose(): void {
    this.stopped = true;
    for (const dialer of this.dialing.values()) clearTimeout(dialer.timer);
  }

  /** Said once per peer: the dialer keeps trying (the peer may be given the right key), quietly. */
  private reportRefusal(endpoint: string): void {
    this.refusedBy.add(endpoint);
    const why =
      "its cluster key differs from this node's (start this node with that cluster's 'herd start --join <token>')";
    this.options.logger.warn({ endpoint }, `${endpoint} refused this node: ${why}`);
    this.options.publish({ type: "node-refused", address: endpoint, reason: `refused by the peer: ${why}` });
  }
}
