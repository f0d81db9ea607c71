import type { InstanceStats } from "../protocol/instance.js";

/** The counters herd reads from llama-server's Prometheus `/metrics` (started with `--metrics`). */
export interface EngineCounters {
  tokensPredictedTotal: number;
  requestsProcessing: number;
  requestsDeferred: number;
  /** Seconds the slots spent generating (absent from engines that do not count it). */
  tokensPredictedSecondsTotal?: number;
}

const counterNames = {
  "llamacpp:tokens_predicted_total": "tokensPredictedTotal",
  "llamacpp:requests_processing": "requestsProcessing",
  "llamacpp:requests_deferred": "requestsDeferred",
} as const;

/** Read when present: decode speed for calibration (see `nextInstanceStats`). */
const optionalCounterNames = {
  "llamacpp:tokens_predicted_seconds_total": "tokensPredictedSecondsTotal",
} as const;

/** Reads the counters herd needs from `/metrics` text; throws when one is missing or not a number. */
export function parseEngineCounters(text: string): EngineCounters {
  const found: Partial<EngineCounters> = {};
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const [name, value] = line.trim().split(/\s+/);
    const key =
      counterNames[name as keyof typeof counterNames] ??
      optionalCounterNames[name as keyof typeof optionalCounterNames];
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
  let decode: InstanceStats["decode"];
  if (before && sample.at > before.at) {
    // A counter that went down means the engine restarted: everything counted is new.
    const restarted = sample.tokensPredictedTotal < before.tokensPredictedTotal;
    const generated = restarted
      ? sample.tokensPredictedTotal
      : sample.tokensPredictedTotal - before.tokensPredictedTotal;
    tokensPerSecond = Math.round((generated / ((sample.at - before.at) / 1000)) * 10) / 10;
    const seconds =
      (sample.tokensPredictedSecondsTotal ?? 0) - (restarted ? 0 : (before.tokensPredictedSecondsTotal ?? 0));
    if (generated > 0 && sample.tokensPredictedSecondsTotal !== undefined && seconds > 0)
      decode = { tokens: generated, seconds };
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
    ...(decode && { decode }),
  };
}
