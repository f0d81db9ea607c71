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

describe("decode speed of the requests finished in an interval", () => {
  const options = { slots: 1, intervalMs: 2000, historyLength: 3 };
  const sample = (at: number, tokens: number, seconds?: number) => ({
    at,
    tokensPredictedTotal: tokens,
    requestsProcessing: 0,
    requestsDeferred: 0,
    ...(seconds !== undefined && { tokensPredictedSecondsTotal: seconds }),
  });

  it("reads llama-server's generation seconds counter", () => {
    const text = `${metricsText}# TYPE llamacpp:tokens_predicted_seconds_total counter\nllamacpp:tokens_predicted_seconds_total 2.5\n`;
    expect(parseEngineCounters(text).tokensPredictedSecondsTotal).toBe(2.5);
  });

  it.each([
    [
      "32 tokens in 0.8 s of generation",
      sample(0, 10, 0.2),
      sample(2000, 42, 1.0),
      { tokens: 32, seconds: 0.8 },
    ],
    ["nothing finished", sample(0, 10, 0.2), sample(2000, 10, 0.2), undefined],
    ["an engine without the counter", sample(0, 10), sample(2000, 42), undefined],
    [
      "engine restarted: all counted is new",
      sample(0, 500, 9),
      sample(2000, 20, 0.5),
      { tokens: 20, seconds: 0.5 },
    ],
  ])("%s", (_, before, now, decode) => {
    const stats = nextInstanceStats(undefined, before, now, options);
    if (decode === undefined) expect(stats.decode).toBeUndefined();
    else {
      expect(stats.decode?.tokens).toBe(decode.tokens);
      expect(stats.decode?.seconds).toBeCloseTo(decode.seconds, 10);
    }
  });
});
