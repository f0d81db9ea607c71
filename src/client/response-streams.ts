// The node's answers that come as streams (SSE chat chunks, NDJSON progress), decoded for the client.
import type { ProgressLine } from "../protocol/management.js";
import { readLines } from "../util/line-decoder.js";
import { decodeServerSentEvents } from "../util/sse.js";
import { HerdApiError } from "./herd-errors.js";

/** What a streamed chat answer is made of. */
export type ChatStreamPart =
  | { type: "text-delta"; text: string }
  | {
      type: "finish";
      reason: string | null;
      completionTokens?: number;
      promptTokens?: number;
      /** The engine's own decode speed (llama-server's `timings`), where it reports one. */
      tokensPerSecond?: number;
    };

/** Reads OpenAI's streamed chat chunks into text deltas, then one `finish` part with the usage. */
export async function* readChatStream(response: Response): AsyncGenerator<ChatStreamPart> {
  let finish: Extract<ChatStreamPart, { type: "finish" }> = { type: "finish", reason: null };
  for await (const event of decodeServerSentEvents(bodyChunks(response))) {
    if (event.data === "[DONE]") break;
    const chunk = JSON.parse(event.data) as OpenAIChatChunk;
    if (chunk.error) {
      throw new HerdApiError(
        chunk.error.message,
        502,
        chunk.error.type ?? "server_error",
        chunk.error.code ?? "",
      );
    }
    const choice = chunk.choices?.[0];
    if (choice?.delta?.content) yield { type: "text-delta", text: choice.delta.content };
    if (choice?.finish_reason) finish = { ...finish, reason: choice.finish_reason };
    if (chunk.usage) {
      finish = {
        ...finish,
        completionTokens: chunk.usage.completion_tokens,
        promptTokens: chunk.usage.prompt_tokens,
      };
    }
    if (chunk.timings?.predicted_per_second !== undefined)
      finish = { ...finish, tokensPerSecond: chunk.timings.predicted_per_second };
  }
  yield finish;
}

interface OpenAIChatChunk {
  choices?: Array<{ delta?: { content?: string | null }; finish_reason?: string | null }>;
  usage?: { completion_tokens: number; prompt_tokens: number };
  timings?: { predicted_per_second?: number };
  error?: { message: string; type?: string; code?: string };
}

/**
 * A response body as chunks. Read through a reader rather than by async iteration, which not every
 * browser's ReadableStream offers; the dashboard uses this client too.
 */
export async function* bodyChunks(response: Response): AsyncGenerator<Uint8Array> {
  if (!response.body) return;
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** Reads an NDJSON progress stream to its `done` line; an `error` line or a cut stream throws. */
export async function readProgress(
  response: Response,
  onLine: (line: ProgressLine) => void,
): Promise<unknown> {
  for await (const line of readLines(bodyChunks(response))) {
    if (line.trim() === "") continue;
    const message = JSON.parse(line) as ProgressLine;
    if (message.type === "done") return message.result;
    if (message.type === "error") {
      throw new HerdApiError(
        message.error.message,
        message.error.status ?? 500,
        message.error.type,
        message.error.code,
      );
    }
    onLine(message);
  }
  throw new HerdApiError(
    "the node closed the progress stream before finishing",
    502,
    "server_error",
    "stream_cut",
  );
}
