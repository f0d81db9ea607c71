/** Bytes per second over the last few seconds, from a running total. */
export class SpeedMeter {
  private readonly samples: Array<{ at: number; total: number }> = [];

  constructor(private readonly windowMs = 3000) {}

  /** Records the total now and returns the recent rate (0 until two samples exist). */
  record(total: number, at = performance.now()): number {
    const last = this.samples[this.samples.length - 1];
    // Called for every chunk; a sample every 100 ms is plenty.
    if (!last || at - last.at >= 100) this.samples.push({ at, total });
    while (this.samples.length > 2 && at - this.samples[0]!.at > this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const elapsed = (at - first.at) / 1000;
    return elapsed > 0 ? Math.max(0, (total - first.total) / elapsed) : 0;
  }
}
