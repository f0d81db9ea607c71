import type { ChatRequest, HerdClient } from "../client/herd-client.js";

/** How one reply went, for `--verbose`. */
export interface ReplyTiming {
  /** From sending the request to the first text; undefined when no text came. */
  firstTokenMs: number | undefined;
  /** Tokens generated, as the engine counted them. */
  tokens: number | undefined;
  /** Tokens per second while decoding: the engine's own count, else measured here after the first token. */
  tokensPerSecond: number | undefined;
}

/**
 * Streams one reply to `write` as it is generated; returns its text (what arrived before an abort
 * too) and its timing. An abort of `signal` (Ctrl-C) ends it early without an error.
 */
export async function streamReply(
  api: HerdClient,
  request: ChatRequest,
  options: { signal: AbortSignal; write: (text: string) => void },
): Promise<{ text: string; stopped: boolean; timing: ReplyTiming }> {
  const sentAt = performance.now();
  let firstAt: number | undefined;
  let text = "";
  let tokens: number | undefined;
  let engineSpeed: number | undefined;
  try {
    for await (const part of api.streamChat(request, options.signal)) {
      if (part.type === "text-delta") {
        firstAt ??= performance.now();
        text += part.text;
        options.write(part.text);
      } else {
        tokens = part.completionTokens;
        engineSpeed = part.tokensPerSecond;
      }
    }
  } catch (error) {
    // Ctrl-C aborts the request: the reply ends there, and the chat goes on.
    if (!options.signal.aborted) throw error;
  }
  const endedAt = performance.now();
  const decodeSeconds = firstAt === undefined ? 0 : (endedAt - firstAt) / 1000;
  return {
    text,
    stopped: options.signal.aborted,
    timing: {
      firstTokenMs: firstAt === undefined ? undefined : firstAt - sentAt,
      tokens,
      tokensPerSecond:
        engineSpeed ??
        (tokens !== undefined && tokens > 1 && decodeSeconds > 0 ? (tokens - 1) / decodeSeconds : undefined),
    },
  };
}

/** `time to first token 85 ms, 32 tokens at 120.3 tokens/s`. */
export function formatReplyTiming(timing: ReplyTiming): string {
  const first =
    timing.firstTokenMs === undefined
      ? "no tokens"
      : `time to first token ${timing.firstTokenMs.toFixed(0)} ms`;
  if (timing.tokens === undefined) return first;
  const speed =
    timing.tokensPerSecond === undefined ? "" : ` at ${timing.tokensPerSecond.toFixed(1)} tokens/s`;
  return `${first}, ${timing.tokens} tokens${speed}`;
}
