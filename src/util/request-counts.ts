/**
 * Requests in flight, and served so far, per key (an instance id, `upstream:NAME`). The router
 * counts on the hot path of every request; heartbeats and the instance list read the counts.
 */
export class RequestCounts {
  private readonly inFlightByKey = new Map<string, number>();
  private readonly servedByKey = new Map<string, number>();

  inFlight(key: string): number {
    return this.inFlightByKey.get(key) ?? 0;
  }

  served(key: string): number {
    return this.servedByKey.get(key) ?? 0;
  }

  /** Counts a request on `key` until the returned release is called (once). */
  take(key: string): () => void {
    this.inFlightByKey.set(key, this.inFlight(key) + 1);
    this.servedByKey.set(key, this.served(key) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlightByKey.set(key, this.inFlight(key) - 1);
    };
  }
}
