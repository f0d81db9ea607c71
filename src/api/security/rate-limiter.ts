import type { ApiKeyRecord } from "../../protocol/api-keys.js";
import { RateLimitError } from "../../protocol/errors.js";
import { parseJsonWithDepthLimit } from "../../util/json-depth.js";
import { TokenBucket } from "./token-bucket.js";

/**
 * Per-key limits on this node: requests per minute and tokens per minute, each a token bucket
 * (a limit of 0 is no limit). Tokens are counted when a request arrives, from its size and the
 * output it asks for (see `estimateTokens`), so a stream is limited before it starts.
 */
export class RateLimiter {
  private readonly buckets = new Map<
    string,
    { requests: TokenBucket | undefined; tokens: TokenBucket | undefined }
  >();

  constructor(private readonly now: () => number = Date.now) {}

  /** Counts one request of `tokens` against `key`; throws RateLimitError when over a limit. */
  admit(key: ApiKeyRecord, tokens: number): void {
    const now = this.now();
    let buckets = this.buckets.get(key.id);
    if (!buckets) {
      buckets = {
        requests: key.requestsPerMinute > 0 ? new TokenBucket(key.requestsPerMinute, now) : undefined,
        tokens: key.tokensPerMinute > 0 ? new TokenBucket(key.tokensPerMinute, now) : undefined,
      };
      this.buckets.set(key.id, buckets);
    }
    const requestWait = buckets.requests?.take(1, now) ?? 0;
    if (requestWait > 0) {
      throw new RateLimitError(
        `API key '${key.name}' made more than ${key.requestsPerMinute} requests in a minute; retry in ${Math.ceil(requestWait)} s`,
        Math.ceil(requestWait),
      );
    }
    const tokenWait = tokens > 0 ? (buckets.tokens?.take(tokens, now) ?? 0) : 0;
    if (tokenWait > 0) {
      buckets.requests?.giveBack(1);
      throw new RateLimitError(
        `API key '${key.name}' used more than ${key.tokensPerMinute} tokens in a minute (this request counts about ${tokens}); retry in ${Math.ceil(tokenWait)} s`,
        Math.ceil(tokenWait),
      );
    }
  }
}

/** Output tokens counted for a request that does not say how many it wants. */
const defaultOutputTokens = 256;

/**
 * The tokens a request is counted as: its body at about 4 bytes a token, plus the output it asks for
 * (`max_tokens` of OpenAI and Anthropic, `max_completion_tokens`, Ollama's `options.num_predict`).
 */
export function estimateTokens(bodyText: string): number {
  let requested: unknown;
  try {
    const body = parseJsonWithDepthLimit(bodyText) as Record<string, unknown> | null;
    const options = body?.options as Record<string, unknown> | undefined;
    requested = body?.max_tokens ?? body?.max_completion_tokens ?? options?.num_predict;
  } catch {
    // Not JSON (or absurdly nested): the route will refuse it; its size alone is counted.
  }
  const output =
    typeof requested === "number" && Number.isFinite(requested) && requested >= 0
      ? Math.min(requested, 1e9)
      : defaultOutputTokens;
  return Math.ceil(Buffer.byteLength(bodyText) / 4) + Math.floor(output);
}
