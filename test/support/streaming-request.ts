import { decodeServerSentEvents } from "../../src/util/sse.js";

/** How one streaming request ended, as its client saw it. */
export type StreamOutcome =
  | { kind: "completed"; ttftMs: number; tokens: number; ms: number }
  /** A clean error in the protocol's shape: an HTTP error with a JSON error body, or an error event mid-stream. */
  | { kind: "error"; status: number; code: string; message: string; midStream: boolean; ms: number }
  /** The client went away on purpose (after `disconnectAfterTokens`). */
  | { kind: "disconnected"; tokens: number }
  /** No answer within the deadline. */
  | { kind: "hung"; tokens: number }
  /** Anything else: a connection cut without an error, a malformed body. Never acceptable. */
  | { kind: "broken"; detail: string; tokens: number };

export interface StreamRequestOptions {
  url: string;
  model: string;
  maxTokens: number;
  deadlineMs: number;
  /** Leave mid-stream after this many tokens, as a client that closes its tab. */
  disconnectAfterTokens?: number;
  requestId?: string;
}

/** Sends one streaming completion and classifies how it ended. Never throws. */
export async function streamRequest(options: StreamRequestOptions): Promise<StreamOutcome> {
  const started = performance.now();
  const deadline = AbortSignal.timeout(options.deadlineMs);
  const leave = new AbortController();
  const signal = AbortSignal.any([deadline, leave.signal]);
  let tokens = 0;
  let firstTokenAt = 0;
  try {
    const response = await fetch(`${options.url}/v1/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(options.requestId ? { "x-request-id": options.requestId } : {}),
      },
      body: JSON.stringify({
        model: options.model,
        prompt: "Once upon a time",
        max_tokens: options.maxTokens,
        stream: true,
        ignore_eos: true,
      }),
      signal,
    });
    if (response.status !== 200) {
      const text = await response.text();
      try {
        const body = JSON.parse(text) as { error?: { message?: string; code?: string } };
        if (typeof body.error?.message === "string") {
          return {
            kind: "error",
            status: response.status,
            code: body.error.code ?? "",
            message: body.error.message,
            midStream: false,
            ms: performance.now() - started,
          };
        }
      } catch {
        // Not JSON: reported as broken below.
      }
      return {
        kind: "broken",
        detail: `HTTP ${response.status} without an error body: ${text.slice(0, 200)}`,
        tokens,
      };
    }
    for await (const event of decodeServerSentEvents(response.body as unknown as AsyncIterable<Uint8Array>)) {
      if (event.data === "[DONE]") {
        if (tokens === 0) return { kind: "broken", detail: "[DONE] before any token", tokens };
        return { kind: "completed", ttftMs: firstTokenAt - started, tokens, ms: performance.now() - started };
      }
      const chunk = JSON.parse(event.data) as {
        choices?: Array<{ text?: string }>;
        error?: { message?: string; code?: string };
      };
      if (chunk.error) {
        return {
          kind: "error",
          status: 200,
          code: chunk.error.code ?? "",
          message: chunk.error.message ?? "",
          midStream: true,
          ms: performance.now() - started,
        };
      }
      if (chunk.choices?.[0]?.text !== undefined && tokens++ === 0) firstTokenAt = performance.now();
      if (options.disconnectAfterTokens !== undefined && tokens >= options.disconnectAfterTokens) {
        leave.abort();
        return { kind: "disconnected", tokens };
      }
    }
    return { kind: "broken", detail: "the stream ended without [DONE] or an error event", tokens };
  } catch (error) {
    if (deadline.aborted) return { kind: "hung", tokens };
    if (leave.signal.aborted) return { kind: "disconnected", tokens };
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    return {
      kind: "broken",
      detail: `${(error as Error).message} (${cause?.code ?? cause?.message ?? ""})`,
      tokens,
    };
  }
}

/** Tallies outcomes by kind (and errors by status and code). */
export class OutcomeTally {
  readonly counts = new Map<string, number>();
  readonly broken: string[] = [];

  add(outcome: StreamOutcome): void {
    const key = outcome.kind === "error" ? `error ${outcome.status} ${outcome.code}` : outcome.kind;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (outcome.kind === "broken" && this.broken.length < 20) this.broken.push(outcome.detail);
  }

  count(kind: StreamOutcome["kind"]): number {
    let sum = 0;
    for (const [key, value] of this.counts) if (key === kind || key.startsWith(`${kind} `)) sum += value;
    return sum;
  }

  toString(): string {
    return [...this.counts].map(([key, value]) => `${key}: ${value}`).join(", ");
  }
}
