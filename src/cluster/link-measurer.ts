import { needsScope } from "../fabric/address-math.js";
import { pathKey } from "../fabric/link-paths.js";
import type { LinkMeasurement, LinkPath } from "../protocol/cluster.js";
import type { NodeEvent } from "../protocol/events.js";
import type { NodeId } from "../protocol/ids.js";
import type { NetworkInterface } from "../protocol/network-interface.js";
import type { Logger } from "../util/logger.js";
import {
  linkMeasurement,
  measurePathRoundTrip,
  measureRoundTrip,
  measureThroughput,
  type PathTarget,
  probeBytes,
} from "./link-prober.js";
import { linkKey } from "./node-state.js";
import type { PeerSocket } from "./peer-socket.js";
import type { ProbeBudget } from "./probe-budget.js";

/** A peer as the measurer sees it: its connection, where its channel listens, and the paths to it. */
export interface MeasuredPeer {
  id: NodeId;
  socket: PeerSocket;
  /** Its channel's endpoint (for the channel link's bulk probe, when no path is known). */
  endpoint: string | undefined;
  /** Its channel's port, on every address. */
  clusterPort: number | undefined;
  /** Every path from this node to it (`linkPaths`); none for a peer that reports no interfaces. */
  paths: LinkPath[];
}

export interface LinkMeasurerOptions {
  key: Buffer;
  selfId: NodeId;
  logger: Logger;
  publish: (event: NodeEvent) => void;
  peers: () => MeasuredPeer[];
  /** This node's own measurements, by `linkKey`. */
  links: () => ReadonlyMap<string, LinkMeasurement>;
  /** A link (one path of it, or the channel) was measured. */
  onMeasured: (link: LinkMeasurement) => void;
  /** Links of this node's that no longer exist, by `linkKey`. */
  onForgotten: (keys: string[]) => void;
  /** Bounds throughput probes, each way. */
  budget: ProbeBudget;
  /** Seconds between rounds. */
  intervalSeconds: number;
}

/** A throughput figure older than this is probed again, budget allowing. */
const throughputMaxAgeMs = 30 * 60_000;

/**
 * Measures every path to every peer: round trips every round (a few hundred bytes each), and
 * throughput only when a path is new, its round trip moved (see `throughputDue`), its figure is older
 * than half an hour, or a shard is about to use it (`refreshThroughput`), and only within the
 * node's probe budget. A peer that reports no interfaces is measured over the channel itself.
 * Rounds run every `intervalSeconds`, shortly after membership changes, and when paths change.
 */
export class LinkMeasurer {
  private readonly pings = new Map<number, (rttMs: number) => void>();
  private readonly forced = new Set<NodeId>();
  private pingId = 0;
  private probing = false;
  private again = false;
  private stopped = false;
  private interval: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private pathSignature = "";
  /** Each link's round trip when its throughput was last probed, by `linkKey`. */
  private readonly probedAtRtt = new Map<string, number>();
  /** Each node's interfaces as last reported, to notice when they change. */
  private readonly interfacesSeen = new Map<NodeId, string>();

  constructor(private readonly options: LinkMeasurerOptions) {}

  start(): void {
    this.interval = setInterval(() => void this.measureNow(), this.options.intervalSeconds * 1000);
    this.interval.unref();
  }

  /** Measures every open link now (or once more after the round under way). */
  async measureNow(): Promise<void> {
    if (this.stopped) return;
    if (this.probing) {
      this.again = true;
      return;
    }
    this.probing = true;
    try {
      let count = 0;
      for (const peer of this.options.peers()) {
        if (!peer.socket.isOpen) continue;
        count += await this.measurePeer(peer);
      }
      if (count > 0) this.options.publish({ type: "links-measured", count });
    } finally {
      this.probing = false;
    }
    if (this.again) {
      this.again = false;
      void this.measureNow();
    }
  }

  /**
   * A node's interfaces as its profile reports them (every heartbeat, every sample): when they
   * changed, an interface came or went, and the paths are checked.
   */
  interfacesReported(node: NodeId, interfaces: readonly NetworkInterface[] | undefined): void {
    const seen = JSON.stringify(interfaces ?? []);
    if (this.interfacesSeen.get(node) === seen) return;
    this.interfacesSeen.set(node, seen);
    this.checkPaths();
  }

  /** Measures soon when the paths to peers differ from the last time this was asked. */
  checkPaths(): void {
    const signature = this.options
      .peers()
      .map((peer) => `${peer.id}:${peer.paths.map(pathKey).sort().join(",")}`)
      .sort()
      .join(" ");
    if (signature === this.pathSignature) return;
    const first = this.pathSignature === "";
    this.pathSignature = signature;
    if (!first) this.measureSoon();
  }

  /** Probes the throughput of every path to `peer` at the next round, which starts soon (a shard is about to use one). */
  refreshThroughput(peer: NodeId): void {
    this.forced.add(peer);
    this.measureSoon();
  }

  /** Measures shortly after membership changes (debounced, so a burst of joins costs one round). */
  measureSoon(): void {
    if (this.stopped) return;
    clearTimeout(this.soon);
    // Once soon, to have figures; once more when the burst of a join (processes starting,
    // connections opening) has passed, so the round trips the planner uses are not the busy ones.
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

  /** Measures the paths to one peer (or its channel link); returns how many were measured. */
  private async measurePeer(peer: MeasuredPeer): Promise<number> {
    const { selfId } = this.options;
    const forced = this.forced.delete(peer.id);
    const known = this.options.links();
    const current = peer.paths.map((path) => linkKey({ from: selfId, to: peer.id, path }));
    const channelKey = linkKey({ from: selfId, to: peer.id });
    const gone = [...known.values()]
      .filter((link) => link.to === peer.id && !current.includes(linkKey(link)))
      .map(linkKey)
      .filter((key) => peer.paths.length > 0 || key !== channelKey);
    if (gone.length > 0) this.options.onForgotten(gone);
    if (peer.paths.length === 0) {
      try {
        const rttMs = await measureRoundTrip(() => this.ping(peer.socket));
        const target = peer.endpoint;
        const link = await this.withThroughput(channelKey, known.get(channelKey), rttMs, forced, (signal) =>
          target ? measureThroughput(target, this.options.key, selfId, signal) : Promise.resolve(0),
        );
        this.options.onMeasured({ ...linkMeasurement(selfId, peer.id, rttMs, 0), ...link });
        return 1;
      } catch (error) {
        this.options.logger.debug({ peer: peer.id, err: error }, "link measurement failed");
        return 0;
      }
    }
    let count = 0;
    for (const path of peer.paths) {
      if (peer.clusterPort === undefined) break;
      const target = pathTarget(path, peer.clusterPort);
      const key = linkKey({ from: selfId, to: peer.id, path });
      try {
        const rttMs = await measurePathRoundTrip(target, this.options.key, selfId);
        const link = await this.withThroughput(key, known.get(key), rttMs, forced, (signal) =>
          measureThroughput(target, this.options.key, selfId, signal),
        );
        this.options.onMeasured({ ...linkMeasurement(selfId, peer.id, rttMs, 0), ...link, path });
        count++;
      } catch (error) {
        // A candidate that does not connect (link-local addresses on the wrong cable) is no path.
        this.options.logger.debug(
          { peer: peer.id, path: pathKey(path), err: error },
          "path measurement failed",
        );
        if (known.has(key)) this.options.onForgotten([key]);
      }
    }
    return count;
  }

  /** The throughput to keep with a new round trip: the last figure, or a new probe when one is due and the budget allows. */
  private async withThroughput(
    key: string,
    previous: LinkMeasurement | undefined,
    rttMs: number,
    forced: boolean,
    probe: (signal: AbortSignal) => Promise<number>,
  ): Promise<Pick<LinkMeasurement, "throughputBytesPerSecond" | "throughputMeasuredAt">> {
    const kept = {
      throughputBytesPerSecond: previous?.throughputBytesPerSecond ?? 0,
      throughputMeasuredAt: previous?.throughputMeasuredAt,
    };
    const due = throughputDue(previous, this.probedAtRtt.get(key), rttMs, forced);
    if (!due || !this.options.budget.take("received", probeBytes)) return kept;
    try {
      const throughput = await probe(AbortSignal.timeout(15_000));
      this.probedAtRtt.set(key, rttMs);
      return { throughputBytesPerSecond: throughput, throughputMeasuredAt: Date.now() };
    } catch (error) {
      // A refused probe (the peer's own budget spent) or a slow one keeps the last figure until the
      // next round; what it did not receive goes back to the budget.
      this.options.budget.refund("received", probeBytes);
      this.options.logger.debug({ err: error }, "throughput probe failed");
      return kept;
    }
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

/**
 * Whether a path's throughput should be probed now: it never was, a shard is about to use it, its
 * figure is half an hour old, or its round trip moved from what it was at the last probe (`probedAtRttMs`)
 * by a factor of two and two milliseconds, this round and the one before (a cable swapped for Wi-Fi,
 * a link renegotiated; a busy moment of either machine passes within a round).
 */
export function throughputDue(
  previous: Pick<LinkMeasurement, "rttMs" | "throughputMeasuredAt"> | undefined,
  probedAtRttMs: number | undefined,
  rttMs: number,
  forced: boolean,
  now = Date.now(),
): boolean {
  if (forced || previous?.throughputMeasuredAt === undefined) return true;
  if (now - previous.throughputMeasuredAt > throughputMaxAgeMs) return true;
  if (probedAtRttMs === undefined) return false;
  const moved = (sample: number) =>
    Math.abs(sample - probedAtRttMs) >= 2 &&
    Math.max(sample, probedAtRttMs) >= 2 * Math.min(sample, probedAtRttMs);
  return moved(rttMs) && moved(previous.rttMs);
}

/** Where to reach a peer's channel over a path; IPv6 link-local addresses need the interface as their scope. */
function pathTarget(path: LinkPath, port: number): PathTarget {
  if (needsScope(path.toAddress)) return { host: `${path.toAddress}%${path.fromInterface}`, port };
  return { host: path.toAddress, port, localAddress: path.fromAddress };
}
