import type { InstanceStats } from "../protocol/instance.js";

/** The counters herd reads from llama-server's Prometheus `/metrics` (started with `--metrics`). */
export interface EngineCounters {
  tokensPredictedTotal: number;
  requestsProcessing: number;
  requestsDeferred: number;
}

const counterNames = {
  "llamacpp:tokens_predicted_total": "tokensPredictedTotal",
  "llamacpp:requests_processing": "requestsProcessing",
  "llamacpp:requests_deferred": "requestsDeferred",
} as const;

/** Reads the counters herd needs from `/metrics` text; throws when one is missing or not a number. */
export function parseEngineCounters(text: string): EngineCounters {
  const found: Partial<EngineCounters> = {};
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const [name, value] = line.trim().split(/\s+/);
    const key = counterNames[name as keyof typeof counterNames];
    if (!key) continue;
    const number = Number(value);
    if (!Number.isFinite(number)) throw new Error(`engine metric ${name} is not a number: '${value}'`);
    found[key] = number;
  }
  for (const [name, key] of Object.entries(counterNames)) {
    if (found[key] === undefined) throw new Error(`engine metrics lack ${name}`);
  }
  return found as EngineCounters;
}

export interface CounterSample extends EngineCounters {
  /** When it was read (ms since epoch). */
  at: number;
}

/**
 * The next stats from the previous ones and two consecutive samples: tokens/s over the interval
 * between them, appended to a history of at most `historyLength` values.
 */
export function nextInstanceStats(
  previous: InstanceStats | undefined,
  before: CounterSample | undefined,
  sample: CounterSample,
  options: { slots: number; intervalMs: number; historyLength: number },
): InstanceStats {
  let tokensPerSecond = 0;
  if (before && sample.at > before.at) {
    // A counter that went down means the engine restarted: everything counted is new.
    const generated =
      sample.tokensPredictedTotal >= before.tokensPredictedTotal
        ? sample.tokensPredictedTotal - before.tokensPredictedTotal
        : sample.tokensPredictedTotal;
    tokensPerSecond = Math.round((generated / ((sample.at - before.at) / 1000)) * 10) / 10;
  }
  const history = before ? [...(previous?.recentTokensPerSecond ?? []), tokensPerSecond] : [];
  return {
    slotsInUse: Math.min(sample.requestsProcessing, options.slots),
    slots: options.slots,
    queued: sample.requestsDeferred,
    tokensPerSecond,
    tokensGenerated: sample.tokensPredictedTotal,
    sampleIntervalMs: options.intervalMs,
    recentTokensPerSecond: history.slice(-options.historyLength),
    sampledAt: new Date(sample.at).toISOString(),
  };
}
