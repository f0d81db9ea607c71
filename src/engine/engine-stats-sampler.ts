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
}

/**
 * Reads a READY engine's `/metrics` on a timer and keeps its stats (slots in use, tokens/s and their
 * recent history). One small loopback request per interval: cheap next to any generation.
 */
export class EngineStatsSampler {
  private before: CounterSample | undefined;
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
    try {
      const response = await fetch(`${this.options.baseUrl}/metrics`, {
        headers: { authorization: `Bearer ${this.options.apiKey}` },
        signal: abortAfter(1500, this.abort.signal),
      });
      if (!response.ok) throw new Error(`the engine answered /metrics with ${response.status}`);
      const sample = { ...parseEngineCounters(await response.text()), at: Date.now() };
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
    }
  }
}
