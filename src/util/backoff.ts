export interface BackoffOptions {
  /** First delay. Default 500 ms. */
  initialMs?: number;
  /** Ceiling for any delay. Default 30 s. */
  maxMs?: number;
  /** Growth per failure. Default 2. */
  factor?: number;
  /** A run that lasted this long counts as healthy and resets the delay. Default 60 s. */
  resetAfterMs?: number;
}

/**
 * Exponential backoff for restarting things that crash: each failure doubles the wait (so a
 * crash loop does not burn the machine), a long healthy run forgets past failures (so one crash
 * a week always restarts fast).
 */
export class Backoff {
  private failures = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly resetAfterMs: number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 500;
    this.maxMs = options.maxMs ?? 30_000;
    this.factor = options.factor ?? 2;
    this.resetAfterMs = options.resetAfterMs ?? 60_000;
  }

  /** Records a failure after a run of `ranForMs` and returns how long to wait before the next try. */
  nextDelay(ranForMs: number): number {
    if (ranForMs >= this.resetAfterMs) this.failures = 0;
    const delay = Math.min(this.maxMs, this.initialMs * this.factor ** this.failures);
    this.failures++;
    return delay;
  }

  get failureCount(): number {
    return this.failures;
  }
}

/** Resolves after `ms`, or rejects with the signal's reason when aborted first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
