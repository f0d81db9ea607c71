import type { InstanceStats } from "../protocol/instance.js";
import { abortAfter } from "../util/abort-after.js";
import type { Logger } from "../util/logger.js";
import { type CounterSample, nextInstanceStats, parseEngineCounters } from "./engine-stats.js";

export interface EngineStatsSamplerOptions {
  baseUrl: string;
  apiKey: string;
  /** The engine's parallel slots (`--parallel`). */
  slots: number;
  logger: Logger;
  /** Default 2000. */
  intervalMs?: number;
  /** Samples kept: default 150 (five minutes at the default interval). */
  historyLength?: number;
  /** Called with each new sample's stats. */
  onSample?: (stats: InstanceStats) => void;
  /**
   * The requests herd has sent the engine so far and has in flight on it (the router counts every
   * one: nothing reaches an engine but through herd). Where given, an interval in which none was
   * sent or in flight is sampled without asking the engine: its counters cannot have moved.
   */
  requests?: () => { sent: number; inFlight: number };
  /** Longest time between two readings of `/metrics` while the engine is idle. Default 60000. */
  idleReadMs?: number;
}

/**
 * Reads a READY engine's `/metrics` on a timer and keeps its stats (slots in use, tokens/s and their
 * recent history). One small loopback request per interval: cheap next to any generation, but on a
 * machine left on all day an idle engine would be woken every interval for nothing (llama-server
 * wakes its main loop for each `/metrics`, and logs it). So while herd has sent the engine nothing
 * since the last reading, the interval is sampled from that reading (the same counters, no
 * traffic), and the engine is read at most every `idleReadMs`.
 */
export class EngineStatsSampler {
  private before: CounterSample | undefined;
  /** What `requests` said when `/metrics` was last read. */
  private readAt: { sent: number; inFlight: number; at: number } | undefined;
  private reading = false;
  private current: InstanceStats | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly options: EngineStatsSamplerOptions) {}

  get stats(): InstanceStats | undefined {
    return this.current;
  }

  start(): void {
    if (this.timer || this.abort.signal.aborted) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.options.intervalMs ?? 2000);
    this.timer.unref();
  }

  /** Stops sampling. Safe to call twice. */
  stop(): void {
    clearInterval(this.timer);
    this.abort.abort();
  }

  private async sample(): Promise<void> {
    // An engine slow to answer is not asked again until it has.
    if (this.reading) return;
    try {
      this.reading = true;
      const sample = this.idleSample() ?? (await this.read());
      if (this.abort.signal.aborted) return;
      this.current = nextInstanceStats(this.current, this.before, sample, {
        slots: this.options.slots,
        intervalMs: this.options.intervalMs ?? 2000,
        historyLength: this.options.historyLength ?? 150,
      });
      this.before = sample;
      this.options.onSample?.(this.current);
    } catch (error) {
      // Stats are for people watching; a missed sample (engine busy or stopping) leaves the last ones.
      if (!this.abort.signal.aborted) {
        this.options.logger.debug({ err: error }, "could not read the engine's metrics");
      }
    } finally {
      this.reading = false;
    }
  }

  /** The last reading's counters, now, where herd has sent the engine nothing since it was taken. */
  private idleSample(): CounterSample | undefined {
    const requests = this.options.requests?.();
    const last = this.readAt;
    if (!requests || !last || !this.before) return undefined;
    const quiet = requests.sent === last.sent && requests.inFlight === 0 && last.inFlight === 0;
    if (!quiet || Date.now() - last.at >= (this.options.idleReadMs ?? 60_000)) return undefined;
    return { ...this.before, at: Date.now() };
  }

  private async read(): Promise<CounterSample> {
    // As they are when the request goes out: one sent meanwhile makes the next interval read.
    const counted = this.options.requests?.();
    const requests = counted && { sent: counted.sent, inFlight: counted.inFlight };
    const response = await fetch(`${this.options.baseUrl}/metrics`, {
      headers: { authorization: `Bearer ${this.options.apiKey}` },
      signal: abortAfter(1500, this.abort.signal),
    });
    if (!response.ok) throw new Error(`the engine answered /metrics with ${response.status}`);
    const sample = { ...parseEngineCounters(await response.text()), at: Date.now() };
    if (requests) this.readAt = { ...requests, at: sample.at };
    return sample;
  }
}
