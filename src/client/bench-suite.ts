import type { HerdClient } from "./herd-client.js";
import {
  benchmarkPrompt,
  concurrentStreams,
  markdownTable,
  median,
  streamCompletion,
} from "./load-generator.js";

export interface SuiteOptions {
  model: string;
  /** Concurrent streams to measure. Default 1, 2, 4, 8, 16. */
  streams?: number[];
  /** Prompt sizes in words (about a token or two each). Default 16, 256, 1024. */
  promptWords?: number[];
  /** Generation lengths in tokens. Default 32, 128. */
  generate?: number[];
  /** Rounds per measurement; the median is reported. Default 3. */
  rounds?: number;
  /** Told each finished measurement, for progress. */
  onProgress?: (line: string) => void;
}

export interface SuiteResult {
  model: string;
  /** The planner's prediction for the model's first instance (single stream decode), when it made one. */
  predictedDecodeTokensPerSecond: number | undefined;
  prompts: Array<{
    promptWords: number;
    promptTokens: number | undefined;
    generate: number;
    ttftMs: number;
    decodeTokensPerSecond: number;
  }>;
  concurrency: Array<{
    streams: number;
    aggregateTokensPerSecond: number;
    perStreamTokensPerSecond: number;
    medianTtftMs: number;
    speedup: number;
    servedBy: Record<string, number>;
  }>;
}

/**
 * Measures a loaded model through a node's API, as its clients see it: time to first token and decode
 * tokens/s for each prompt size and generation length, then aggregate and per-stream decode tokens/s
 * for each number of concurrent streams (each stream its own conversation), against the planner's
 * prediction. Prompt caching stays on for the concurrency runs and off for the prompt-size runs.
 */
export async function runBenchSuite(client: HerdClient, options: SuiteOptions): Promise<SuiteResult> {
  const rounds = options.rounds ?? 3;
  const base = { baseUrl: client.baseUrl, model: options.model, apiKey: client.apiKeyValue };
  const view = await client.cluster();
  const instance = view.desired.instances.find((candidate) => candidate.model === options.model);
  const result: SuiteResult = {
    model: options.model,
    predictedDecodeTokensPerSecond: instance?.plan?.predictedDecodeTokensPerSecond,
    prompts: [],
    concurrency: [],
  };
  await streamCompletion({ ...base, prompt: benchmarkPrompt(8), maxTokens: 8 });
  for (const promptWords of options.promptWords ?? [16, 256, 1024]) {
    for (const generate of options.generate ?? [32, 128]) {
      const samples = [];
      for (let round = 0; round < rounds; round++) {
        samples.push(
          await streamCompletion({
            ...base,
            prompt: benchmarkPrompt(promptWords, round),
            maxTokens: generate,
            extra: { cache_prompt: false },
          }),
        );
      }
      const row = {
        promptWords,
        promptTokens: samples[0]!.promptTokens,
        generate,
        ttftMs: median(samples.map((sample) => sample.ttftMs)),
        decodeTokensPerSecond: median(samples.map((sample) => sample.decodeTokensPerSecond)),
      };
      result.prompts.push(row);
      options.onProgress?.(
        `prompt ${promptWords} words, ${generate} tokens: TTFT ${row.ttftMs.toFixed(0)} ms, ${row.decodeTokensPerSecond.toFixed(1)} tokens/s`,
      );
    }
  }
  const generate = Math.max(...(options.generate ?? [128]));
  let single: number | undefined;
  for (const streams of options.streams ?? [1, 2, 4, 8, 16]) {
    const samples = [];
    for (let round = 0; round < rounds; round++) {
      samples.push(
        await concurrentStreams({ ...base, maxTokens: generate }, streams, (stream) =>
          benchmarkPrompt(16, round * 1000 + stream),
        ),
      );
    }
    const aggregate = median(samples.map((sample) => sample.aggregateTokensPerSecond));
    single ??= aggregate;
    const servedBy: Record<string, number> = {};
    for (const sample of samples)
      for (const [key, count] of Object.entries(sample.servedBy))
        servedBy[key] = (servedBy[key] ?? 0) + count;
    result.concurrency.push({
      streams,
      aggregateTokensPerSecond: aggregate,
      perStreamTokensPerSecond: median(samples.map((sample) => sample.perStreamTokensPerSecond)),
      medianTtftMs: median(samples.map((sample) => sample.medianTtftMs)),
      speedup: aggregate / single,
      servedBy,
    });
    options.onProgress?.(`${streams} streams: ${aggregate.toFixed(1)} tokens/s together`);
  }
  return result;
}

/** The suite's result as Markdown tables. */
export function suiteMarkdown(result: SuiteResult): string {
  const decodeAtOne = result.concurrency.find((row) => row.streams === 1)?.perStreamTokensPerSecond;
  return [
    `### ${result.model}`,
    "",
    markdownTable(
      ["prompt words", "prompt tokens", "generated", "TTFT ms", "decode tok/s"],
      result.prompts.map((row) => [
        String(row.promptWords),
        row.promptTokens === undefined ? "?" : String(row.promptTokens),
        String(row.generate),
        row.ttftMs,
        row.decodeTokensPerSecond,
      ]),
    ),
    "",
    markdownTable(
      ["streams", "aggregate tok/s", "per-stream tok/s", "median TTFT ms", "× one stream", "served by"],
      result.concurrency.map((row) => [
        String(row.streams),
        row.aggregateTokensPerSecond,
        row.perStreamTokensPerSecond,
        row.medianTtftMs,
        row.speedup,
        Object.entries(row.servedBy)
          .map(([key, count]) => `${key}: ${count}`)
          .join(", "),
      ]),
    ),
    "",
    `predicted decode ${result.predictedDecodeTokensPerSecond?.toFixed(1) ?? "?"} tok/s, measured ${decodeAtOne?.toFixed(1) ?? "?"} tok/s (one stream)`,
  ].join("\n");
}
