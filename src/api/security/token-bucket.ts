/**
 * A token bucket: holds up to `capacity`, refilled continuously at `capacity` per minute. `take`
 * either removes `amount` or says how many seconds until it could.
 */
export class TokenBucket {
  private available: number;
  private updatedAt: number;

  constructor(
    readonly capacity: number,
    now: number,
  ) {
    this.available = capacity;
    this.updatedAt = now;
  }

  /** Takes `amount` (at most the capacity, so that one large request can still pass); 0 when taken, else seconds to wait. */
  take(amount: number, now: number): number {
    this.refill(now);
    const needed = Math.min(amount, this.capacity);
    if (this.available >= needed) {
      this.available -= needed;
      return 0;
    }
    return ((needed - this.available) * 60) / this.capacity;
  }

  /** Gives back what a refused request took from another bucket. */
  giveBack(amount: number): void {
    this.available = Math.min(this.capacity, this.available + Math.min(amount, this.capacity));
  }

  private refill(now: number): void {
    const elapsedMinutes = Math.max(0, now - this.updatedAt) / 60_000;
    this.available = Math.min(this.capacity, this.available + elapsedMinutes * this.capacity);
    this.updatedAt = now;
  }
}
