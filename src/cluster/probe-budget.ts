/** Probe bytes a node may receive, and serve, in one minute (each way): 10 MiB. */
export const defaultProbeBytesPerMinute = 10 * 1024 * 1024;

/** What a node's probes cost so far, for `/metrics`. */
export interface ProbeTraffic {
  sentBytes: number;
  receivedBytes: number;
  /** Throughput probes not made (or not served) because the minute's budget was spent. */
  deferred: number;
  budgetBytesPerMinute: number;
}

/**
 * Bounds the throughput-probe traffic of one node: at most `bytesPerMinute` received and as many
 * sent in any sliding minute, so probes stay a small, fixed share of a link however many paths the
 * cluster has (every pair probing every path every minute grows with the square of the nodes).
 */
export class ProbeBudget {
  private readonly spent = { sent: [] as Array<[number, number]>, received: [] as Array<[number, number]> };
  private readonly totals = { sent: 0, received: 0, deferred: 0 };

  constructor(
    readonly bytesPerMinute = defaultProbeBytesPerMinute,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes `bytes` from the minute's budget of one direction; false (nothing taken) when they do not fit. */
  take(direction: "sent" | "received", bytes: number): boolean {
    const at = this.now();
    const window = this.spent[direction].filter(([time]) => at - time < 60_000);
    this.spent[direction] = window;
    const used = window.reduce((sum, [, size]) => sum + size, 0);
    if (used + bytes > this.bytesPerMinute) {
      this.totals.deferred++;
      return false;
    }
    window.push([at, bytes]);
    this.totals[direction] += bytes;
    return true;
  }

  /** Gives back bytes taken for a probe that did not happen (refused, or failed before its bytes came). */
  refund(direction: "sent" | "received", bytes: number): void {
    const window = this.spent[direction];
    const index = window.findLastIndex(([, size]) => size === bytes);
    if (index < 0) return;
    window.splice(index, 1);
    this.totals[direction] -= bytes;
  }

  traffic(): ProbeTraffic {
    return {
      sentBytes: this.totals.sent,
      receivedBytes: this.totals.received,
      deferred: this.totals.deferred,
      budgetBytesPerMinute: this.bytesPerMinute,
    };
  }
}
