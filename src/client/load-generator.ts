import { decodeServerSentEvents } from "../util/sse.js";

/** What one streaming completion measured, from the client's side. */
export interface StreamSample {
  /** From sending the request to the first token. */
  ttftMs: number;
  tokens: number;
  /** Tokens after the first, per second of the time they took. */
  decodeTokensPerSecond: number;
  /** `performance.now()` of the first and last token, to combine streams that ran together. */
  firstTokenAt: number;
  lastTokenAt: number;
  /** The instance (`x-herd-instance`) or upstream (`x-herd-upstream`) that served it, when herd says. */
  servedBy: string | undefined;
  /** Prompt tokens and draft statistics as the engine reports them (llama.cpp's `timings`). */
  promptTokens: number | undefined;
  draftTokens: number | undefined;
  draftAccepted: number | undefined;
}

export interface StreamRequest {
  baseUrl: string;
  model: string;
  prompt: string;
  maxTokens: number;
  /** Bearer key (a herd API key, or an engine's own key for a direct measurement). */
  apiKey?: string;
  /** Extra body fields (e.g. `cache_prompt: false`). */
  extra?: Record<string, unknown>;
}

/**
 * `fetch`, sent once more when a kept-alive connection turns out closed before any answer came: a
 * server that ends connections after so many requests (llama-server does) can close one just as it
 * is reused, and a request that got no answer cost the server nothing.
 */
async function fetchOnFreshSocketIfClosed(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    if (code !== "UND_ERR_SOCKET" && code !== "ECONNRESET") throw error;
    return await fetch(url, init);
  }
}

/** Sends one streaming greedy completion that never stops early, and times its tokens. */
export async function streamCompletion(request: StreamRequest): Promise<StreamSample> {
  const started = performance.now();
  const response = await fetchOnFreshSocketIfClosed(`${request.baseUrl}/v1/completions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(request.apiKey ? { authorization: `Bearer ${request.apiKey}` } : {}),
    },
    body: JSON.stringify({
      model: request.model,
      prompt: request.prompt,
      max_tokens: request.maxTokens,
      temperature: 0,
      ignore_eos: true,
      stream: true,
      ...request.extra,
    }),
  });
  if (!response.ok)
    throw new Error(`${request.baseUrl} answered ${response.status}: ${await response.text()}`);
  let first = 0;
  let last = 0;
  let tokens = 0;
  let timings: { prompt_n?: number; draft_n?: number; draft_n_accepted?: number } | undefined;
  for await (const event of decodeServerSentEvents(response.body as unknown as AsyncIterable<Uint8Array>)) {
    if (event.data === "[DONE]") break;
    const chunk = JSON.parse(event.data) as { choices?: Array<{ text?: string }>; timings?: typeof timings };
    timings = chunk.timings ?? timings;
    if (!chunk.choices?.[0]?.text) continue;
    last = performance.now();
    if (tokens === 0) first = last;
    tokens++;
  }
  if (tokens < 2) throw new Error(`only ${tokens} tokens from ${request.baseUrl}`);
  return {
    ttftMs: first - started,
    tokens,
    decodeTokensPerSecond: ((tokens - 1) * 1000) / (last - first),
    firstTokenAt: first,
    lastTokenAt: last,
    servedBy: response.headers.get("x-herd-instance") ?? response.headers.get("x-herd-upstream") ?? undefined,
    promptTokens: timings?.prompt_n,
    draftTokens: timings?.draft_n,
    draftAccepted: timings?.draft_n_accepted,
  };
}

/** What `streams` completions sent at once measured together. */
export interface ConcurrencySample {
  streams: number;
  /** Decode tokens of all streams per second of the time they decoded together. */
  aggregateTokensPerSecond: number;
  /** The median stream's own decode rate. */
  perStreamTokensPerSecond: number;
  medianTtftMs: number;
  /** Requests per instance (or upstream) that served them. */
  servedBy: Record<string, number>;
}

/**
 * Sends `streams` completions at once, each with its own prompt (one conversation each, so none
 * shares another's prompt cache or instance affinity), and combines what they measured.
 */
export async function concurrentStreams(
  request: Omit<StreamRequest, "prompt">,
  streams: number,
  prompt: (stream: number) => string,
): Promise<ConcurrencySample> {
  const samples = await Promise.all(
    Array.from({ length: streams }, (_, stream) => streamCompletion({ ...request, prompt: prompt(stream) })),
  );
  const decodeTokens = samples.reduce((sum, sample) => sum + sample.tokens - 1, 0);
  const start = Math.min(...samples.map((sample) => sample.firstTokenAt));
  const end = Math.max(...samples.map((sample) => sample.lastTokenAt));
  const servedBy: Record<string, number> = {};
  for (const sample of samples) {
    const key = sample.servedBy ?? "unknown";
    servedBy[key] = (servedBy[key] ?? 0) + 1;
  }
  return {
    streams,
    aggregateTokensPerSecond: (decodeTokens * 1000) / (end - start),
    perStreamTokensPerSecond: median(samples.map((sample) => sample.decodeTokensPerSecond)),
    medianTtftMs: median(samples.map((sample) => sample.ttftMs)),
    servedBy,
  };
}

/** A prompt of about `words` words (a token or two each), different for each `seed`. */
export function benchmarkPrompt(words: number, seed = 0): string {
  const vocabulary = [
    "the",
    "river",
    "stone",
    "light",
    "garden",
    "quiet",
    "north",
    "window",
    "paper",
    "seven",
  ];
  const parts = [`Story ${seed}:`];
  for (let index = 0; index < words; index++) parts.push(vocabulary[(index * 7 + seed) % vocabulary.length]!);
  return parts.join(" ");
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** A Markdown table, right-aligned numbers. */
export function markdownTable(header: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((row) => row.map((cell) => (typeof cell === "number" ? formatNumber(cell) : cell)));
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((row) => row[column]!.length)),
  );
  const line = (row: string[]) =>
    `| ${row.map((cell, column) => cell.padStart(widths[column]!)).join(" | ")} |`;
  return [
    line(header),
    `|${widths.map((width) => `${"-".repeat(width + 1)}:`).join("|")}|`,
    ...cells.map(line),
  ].join("\n");
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  return Math.abs(value) >= 100 ? value.toFixed(1) : value.toFixed(Math.abs(value) >= 10 ? 2 : 3);
}
