import { decodeServerSentEvents } from "../src/util/sse.js";

/** What one streaming completion measured, from the client's side. */
export interface StreamingSample {
  /** From sending the request to the first token. */
  ttftMs: number;
  /** Tokens after the first, per second of the time they took. */
  decodeTokensPerSecond: number;
}

/**
 * Sends one streaming completion (a chat completion when `body` has `messages`) and times its
 * tokens as a client sees them.
 */
export async function streamingSample(
  baseUrl: string,
  body: Record<string, unknown>,
  key: string | undefined,
): Promise<StreamingSample> {
  const started = performance.now();
  const path = "messages" in body ? "/v1/chat/completions" : "/v1/completions";
  const response = await fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ temperature: 0, ignore_eos: true, ...body, stream: true }),
  });
  if (!response.ok) throw new Error(`${baseUrl} answered ${response.status}: ${await response.text()}`);
  let first = 0;
  let last = 0;
  let tokens = 0;
  for await (const event of decodeServerSentEvents(response.body as unknown as AsyncIterable<Uint8Array>)) {
    if (event.data === "[DONE]") break;
    const chunk = JSON.parse(event.data) as {
      choices?: Array<{ text?: string; delta?: { content?: string } }>;
    };
    const choice = chunk.choices?.[0];
    if (!choice?.text && !choice?.delta?.content) continue;
    last = performance.now();
    if (tokens === 0) first = last;
    tokens++;
  }
  if (tokens < 2) throw new Error(`only ${tokens} tokens from ${baseUrl}`);
  return { ttftMs: first - started, decodeTokensPerSecond: ((tokens - 1) * 1000) / (last - first) };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Retries `check` until it stops throwing, or rethrows its last error after `timeoutMs`. */
export async function until(check: () => Promise<unknown>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
