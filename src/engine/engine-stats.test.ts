import { describe, expect, it } from "vitest";
import { nextInstanceStats, parseEngineCounters } from "./engine-stats.js";

// As llama-server prints it (trimmed to the lines around the ones herd reads).
const metricsText = `# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.
# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total 2
# HELP llamacpp:tokens_predicted_total Number of generation tokens processed.
# TYPE llamacpp:tokens_predicted_total counter
llamacpp:tokens_predicted_total 50
llamacpp:predicted_tokens_seconds 4665.78
# HELP llamacpp:requests_processing Number of requests processing.
# TYPE llamacpp:requests_processing gauge
llamacpp:requests_processing 3
llamacpp:requests_deferred 1
`;

describe("parseEngineCounters", () => {
  it("reads the counters herd shows", () => {
    expect(parseEngineCounters(metricsText)).toEqual({
      tokensPredictedTotal: 50,
      requestsProcessing: 3,
      requestsDeferred: 1,
    });
  });

  it("throws when a counter is missing or not a number", () => {
    expect(() => parseEngineCounters("llamacpp:tokens_predicted_total 5\n")).toThrow(
      /lack llamacpp:requests_processing/,
    );
    expect(() => parseEngineCounters(metricsText.replace("50", "many"))).toThrow(/not a number: 'many'/);
  });
});

describe("nextInstanceStats", () => {
  const options = { slots: 4, intervalMs: 2000, historyLength: 3 };
  const sample = (at: number, tokens: number, processing = 0) => ({
    at,
    tokensPredictedTotal: tokens,
    requestsProcessing: processing,
    requestsDeferred: 0,
  });

  it.each([
    { name: "first sample: no rate yet", before: undefined, now: sample(2000, 40), rate: 0, history: [] },
    { name: "100 tokens in 2 s", before: sample(0, 0), now: sample(2000, 100), rate: 50, history: [50] },
    { name: "idle", before: sample(0, 70), now: sample(2000, 70), rate: 0, history: [0] },
    {
      name: "engine restarted: counter went down",
      before: sample(0, 500),
      now: sample(1000, 30),
      rate: 30,
      history: [30],
    },
    { name: "rounded to a tenth", before: sample(0, 0), now: sample(3000, 100), rate: 33.3, history: [33.3] },
  ])("$name", ({ before, now, rate, history }) => {
    const stats = nextInstanceStats(undefined, before, now, options);
    expect(stats.tokensPerSecond).toBe(rate);
    expect(stats.recentTokensPerSecond).toEqual(history);
    expect(stats.tokensGenerated).toBe(now.tokensPredictedTotal);
  });

  it("keeps the last values only, and never more slots in use than there are", () => {
    let stats = nextInstanceStats(undefined, undefined, sample(0, 0), options);
    let before = sample(0, 0);
    for (const [index, tokens] of [10, 30, 60, 100].entries()) {
      const now = sample((index + 1) * 1000, tokens, 9);
      stats = nextInstanceStats(stats, before, now, options);
      before = now;
    }
    expect(stats.recentTokensPerSecond).toEqual([20, 30, 40]);
    expect(stats.slotsInUse).toBe(4);
    expect(stats.slots).toBe(4);
  });
});
