import type { HerdClient } from "../../src/client/herd-client.js";
import type { ClusterView } from "../../src/protocol/cluster.js";
import type { NodeEvent } from "../../src/protocol/events.js";
import { errorMessage, isUnauthorized } from "./connection.js";

/** How often the view is fetched even without events: stats, link figures and "last seen" move without them. */
const refreshIntervalMs = 2000;

/**
 * The cluster as the node serving the page sees it, kept current: fetched again on every event of
 * the node's event stream (read with fetch, so the API key travels in a header) and every 2 s.
 */
export class LiveCluster {
  view: ClusterView | undefined;
  /** The event stream is open. */
  connected = false;
  error: string | undefined;
  private readonly changeListeners = new Set<() => void>();
  private readonly eventListeners = new Set<(event: NodeEvent) => void>();
  private readonly stop = new AbortController();
  private timer: ReturnType<typeof setInterval> | undefined;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;

  constructor(
    private readonly client: HerdClient,
    private readonly onUnauthorized: () => void,
    initial?: ClusterView,
  ) {
    this.view = initial;
  }

  start(): void {
    if (!this.view) void this.refresh();
    void this.follow();
    this.timer = setInterval(() => void this.refresh(), refreshIntervalMs);
  }

  dispose(): void {
    clearInterval(this.timer);
    this.stop.abort();
  }

  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  onEvent(listener: (event: NodeEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Fetches the view; calls that arrive meanwhile are folded into one more fetch. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        try {
          this.view = await this.client.cluster();
          this.error = undefined;
        } catch (error) {
          if (isUnauthorized(error)) return this.onUnauthorized();
          this.error = errorMessage(error);
        }
        this.changed();
      } while (this.refreshAgain && !this.stop.signal.aborted);
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async follow(): Promise<void> {
    let delayMs = 500;
    while (!this.stop.signal.aborted) {
      try {
        const events = await this.client.subscribe(this.stop.signal);
        this.connected = true;
        delayMs = 500;
        this.changed();
        void this.refresh();
        for await (const event of events) {
          for (const listener of this.eventListeners) listener(event);
          void this.refresh();
        }
      } catch (error) {
        if (isUnauthorized(error)) return this.onUnauthorized();
        // The node restarted or the network dropped: keep showing the last view and reconnect.
        this.error = errorMessage(error);
      }
      this.connected = false;
      this.changed();
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(delayMs * 2, 5000);
    }
  }

  private changed(): void {
    for (const listener of this.changeListeners) listener();
  }
}
