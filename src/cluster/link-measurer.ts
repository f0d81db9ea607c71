import type { LinkMeasurement } from "../protocol/cluster.js";
import type { NodeEvent } from "../protocol/events.js";
import type { NodeId } from "../protocol/ids.js";
import type { Logger } from "../util/logger.js";
import { linkMeasurement, measureRoundTrip, measureThroughput } from "./link-prober.js";
import type { PeerSocket } from "./peer-socket.js";

export interface LinkMeasurerOptions {
  key: Buffer;
  selfId: NodeId;
  logger: Logger;
  publish: (event: NodeEvent) => void;
  /** The open connections to peers, with where each peer's channel listens (for the bulk probe). */
  peers: () => Array<{ id: NodeId; socket: PeerSocket; endpoint: string | undefined }>;
  /** A link was measured. */
  onMeasured: (link: LinkMeasurement) => void;
  /** Seconds between rounds. */
  intervalSeconds: number;
}

/**
 * Measures round trip (pings over the peer's WebSocket) and throughput (a bulk transfer from its
 * channel) to every peer: every `intervalSeconds`, and shortly after membership changes.
 */
export class LinkMeasurer {
  private readonly pings = new Map<number, (rttMs: number) => void>();
  private pingId = 0;
  private probing = false;
  private stopped = false;
  private interval: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;

  constructor(private readonly options: LinkMeasurerOptions) {}

  start(): void {
    this.interval = setInterval(() => void this.measureNow(), this.options.intervalSeconds * 1000);
    this.interval.unref();
  }

  /** Measures every open link now (unless a round is under way). */
  async measureNow(): Promise<void> {
    if (this.probing || this.stopped) return;
    this.probing = true;
    try {
      let count = 0;
      for (const { id, socket, endpoint } of this.options.peers()) {
        if (!socket.isOpen) continue;
        try {
          const rttMs = await measureRoundTrip(() => this.ping(socket));
          const throughput = endpoint
            ? await measureThroughput(endpoint, this.options.key, this.options.selfId)
            : 0;
          this.options.onMeasured(linkMeasurement(this.options.selfId, id, rttMs, throughput));
          count++;
        } catch (error) {
          this.options.logger.debug({ peer: id, err: error }, "link measurement failed");
        }
      }
      if (count > 0) this.options.publish({ type: "links-measured", count });
    } finally {
      this.probing = false;
    }
  }

  /** Measures shortly after membership changes (debounced, so a burst of joins costs one round). */
  measureSoon(): void {
    if (this.stopped) return;
    clearTimeout(this.soon);
    // Once soon, to have figures; once more when the burst of a join (processes starting,
    // connections opening) has passed, so the figures the planner uses are not the busy ones.
    this.soon = setTimeout(() => {
      void this.measureNow();
      this.soon = setTimeout(() => void this.measureNow(), 10_000);
      this.soon.unref();
    }, 1500);
    this.soon.unref();
  }

  /** A peer answered a ping. */
  ponged(id: number, sentAt: number): void {
    this.pings.get(id)?.(performance.now() - sentAt);
    this.pings.delete(id);
  }

  dispose(): void {
    this.stopped = true;
    clearInterval(this.interval);
    clearTimeout(this.soon);
  }

  private ping(socket: PeerSocket): Promise<number> {
    const id = this.pingId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pings.delete(id);
        reject(new Error("ping timed out"));
      }, 5000);
      this.pings.set(id, (rtt) => {
        clearTimeout(timer);
        resolve(rtt);
      });
      socket.send({ type: "ping", id, sentAt: performance.now() });
    });
  }
}
