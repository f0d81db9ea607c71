import { abortAfter } from "../util/abort-after.js";
import type { EngineEndpoint } from "./llama-server-supervisor.js";

/** Longest a warm-up may take: a large model's first tokens on a slow CPU, not a stuck engine. */
const warmUpTimeoutMs = 300_000;

/**
 * A prompt of a few dozen tokens: llama.cpp's own warm-up at load decodes a single token, while a
 * user's first prompt is a batch, which takes other kernels (matrix-matrix rather than matrix-vector).
 */
const warmUpPrompt =
  "Once upon a time, in a small town by the sea, there lived a baker who rose before the sun every morning to bake bread for the whole village, and one day";

/**
 * Runs one short request through a freshly loaded engine, so that the first user does not pay for
 * what a first request costs beyond llama.cpp's own one-token warm-up (batched prompt kernels, the
 * server's slot and sampler, buffers sized for a batch, RPC peers' first graph of that shape): a
 * prompt batch and a few generated tokens, or one embedding for an embeddings instance. Resolves to
 * the time it took; throws what the engine answered when it fails.
 */
export async function warmUpEngine(
  endpoint: EngineEndpoint,
  options: { embeddings: boolean; signal: AbortSignal },
): Promise<number> {
  const started = performance.now();
  const [path, body] = options.embeddings
    ? ["/v1/embeddings", { input: warmUpPrompt }]
    : ["/v1/completions", { prompt: warmUpPrompt, max_tokens: 4, temperature: 0, cache_prompt: false }];
  const response = await fetch(`${endpoint.baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${endpoint.apiKey}` },
    body: JSON.stringify(body),
    signal: abortAfter(warmUpTimeoutMs, options.signal),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`the engine answered ${response.status}: ${text.slice(0, 300)}`);
  return performance.now() - started;
}
