import { request } from "node:http";
import { decodeServerSentEvents } from "../../src/util/sse.js";

/*
 * One long reply per protocol, streamed and whole, as a client reads it: its text, how it ended,
 * its usage and its longest pause; for the stream continuation tests.
 */

/** A long greedy reply: stories260K never writes end-of-text under greedy decoding, so it runs to its budget. */
export const replyTokens = 1100;
export const chat = [{ role: "user", content: "Tell me a long story" }];

export interface Reply {
  text: string;
  /** The completion tokens the reply's usage counts, where the protocol says. */
  completionTokens?: number;
  /** Ends of stream (`[DONE]`, `message_stop`, `done: true`, `response.completed`) and error events seen. */
  ends: number;
  errors: string[];
  /** The longest wait between two chunks, in ms, and how much text had come before it. */
  longestPauseMs: number;
  pausedAt?: number;
  /** Chunks received so far (for deciding when to kill). */
  progress: { chunks: number };
  /** `x-herd-failovers`: a whole reply's header, a stream's trailer (where the test reads it). */
  failovers?: string | null;
}

export type Protocol = (
  url: string,
  progress: { chunks: number },
  extra?: Record<string, unknown>,
) => Promise<Reply>;

export async function post(url: string, body: object, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(180_000),
  });
}

/** What `sseReply` reads of a response: fetch's, or `postReadingTrailers`'. */
interface StreamedResponse {
  status: number;
  text(): Promise<string>;
  body: unknown;
}

/**
 * A POST read with node:http, which (unlike fetch) gives a stream's trailers: `trailers()` once
 * the body has been read to its end.
 */
export function postReadingTrailers(
  url: string,
  body: object,
): Promise<StreamedResponse & { trailers(): Record<string, string | undefined> }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        signal: AbortSignal.timeout(180_000),
      },
      (incoming) =>
        resolve({
          status: incoming.statusCode ?? 0,
          body: incoming,
          text: async () => {
            let text = "";
            for await (const chunk of incoming) text += chunk;
            return text;
          },
          trailers: () => incoming.trailers,
        }),
    );
    outgoing.on("error", reject);
    outgoing.end(JSON.stringify(body));
  });
}

/** Reads an SSE reply; `read` takes each event's data and returns the text it adds. */
export async function sseReply(
  response: StreamedResponse,
  progress: { chunks: number },
  read: (event: { event: string | null; data: string }, reply: Reply) => void,
): Promise<Reply> {
  if (response.status !== 200) throw new Error(`${response.status}: ${await response.text()}`);
  const reply: Reply = { text: "", ends: 0, errors: [], longestPauseMs: 0, progress };
  let last = performance.now();
  for await (const event of decodeServerSentEvents(response.body as unknown as AsyncIterable<Uint8Array>)) {
    const now = performance.now();
    if (now - last > reply.longestPauseMs) {
      reply.longestPauseMs = now - last;
      reply.pausedAt = reply.text.length;
    }
    last = now;
    progress.chunks += 1;
    if (/^(error|response\.failed)$/.test(event.event ?? "") || event.data.startsWith('{"error"')) {
      reply.errors.push(event.data);
    }
    read(event, reply);
  }
  return reply;
}

export const protocols: Record<string, Protocol> = {
  // Read with node:http: the stream's x-herd-failovers trailer is checked too.
  "OpenAI chat, streamed": async (url, progress, extra = {}) => {
    const response = await postReadingTrailers(`${url}/v1/chat/completions`, {
      model: "stories260K",
      messages: chat,
      temperature: 0,
      max_tokens: replyTokens,
      stream: true,
      stream_options: { include_usage: true },
      ...extra,
    });
    const reply = await sseReply(response, progress, ({ data }, reply) => {
      if (data === "[DONE]") reply.ends += 1;
      else {
        const chunk = JSON.parse(data);
        reply.text += chunk.choices?.[0]?.delta?.content ?? "";
        if (chunk.usage) reply.completionTokens = chunk.usage.completion_tokens;
      }
    });
    return { ...reply, failovers: response.trailers()["x-herd-failovers"] ?? null };
  },
  "OpenAI completions, streamed": async (url, progress) =>
    sseReply(
      await post(`${url}/v1/completions`, {
        model: "stories260K",
        prompt: "Once upon a time",
        temperature: 0,
        max_tokens: replyTokens,
        stream: true,
      }),
      progress,
      ({ data }, reply) => {
        if (data === "[DONE]") reply.ends += 1;
        else {
          const chunk = JSON.parse(data);
          reply.text += chunk.choices?.[0]?.text ?? "";
          if (chunk.usage) reply.completionTokens = chunk.usage.completion_tokens;
        }
      },
    ),
  "Anthropic messages, streamed": async (url, progress) =>
    sseReply(
      await post(
        `${url}/v1/messages`,
        { model: "stories260K", messages: chat, temperature: 0, max_tokens: replyTokens, stream: true },
        { "anthropic-version": "2023-06-01" },
      ),
      progress,
      ({ event, data }, reply) => {
        const body = JSON.parse(data);
        if (event === "message_stop") reply.ends += 1;
        if (event === "content_block_delta") reply.text += body.delta?.text ?? "";
        if (event === "message_delta") reply.completionTokens = body.usage?.output_tokens;
      },
    ),
  "OpenAI responses, streamed": async (url, progress) =>
    sseReply(
      await post(`${url}/v1/responses`, {
        model: "stories260K",
        input: chat[0]!.content,
        temperature: 0,
        max_output_tokens: replyTokens,
        stream: true,
      }),
      progress,
      ({ event, data }, reply) => {
        const body = JSON.parse(data);
        if (event === "response.output_text.delta") reply.text += body.delta;
        // A reply that reaches max_output_tokens is `incomplete`.
        if (event === "response.completed" || event === "response.incomplete") {
          reply.ends += 1;
          reply.completionTokens = body.response?.usage?.output_tokens;
        }
      },
    ),
  "Ollama chat, streamed": async (url, progress) =>
    ndjsonReply(
      await post(`${url}/api/chat`, {
        model: "stories260K",
        messages: chat,
        options: { temperature: 0, num_predict: replyTokens },
      }),
      progress,
      (line) => line.message?.content ?? "",
    ),
  "Ollama generate, streamed": async (url, progress) =>
    ndjsonReply(
      await post(`${url}/api/generate`, {
        model: "stories260K",
        prompt: "Once upon a time",
        options: { temperature: 0, num_predict: replyTokens },
      }),
      progress,
      (line) => line.response ?? "",
    ),
  "OpenAI chat, whole": async (url) => {
    const response = await post(`${url}/v1/chat/completions`, {
      model: "stories260K",
      messages: chat,
      temperature: 0,
      max_tokens: replyTokens,
    });
    const body = await response.json();
    if (response.status !== 200) throw new Error(`${response.status}: ${JSON.stringify(body)}`);
    return {
      ...whole(body.choices[0].message.content, body.usage.completion_tokens),
      failovers: response.headers.get("x-herd-failovers"),
    };
  },
  "Anthropic messages, whole": async (url) => {
    const response = await post(
      `${url}/v1/messages`,
      { model: "stories260K", messages: chat, temperature: 0, max_tokens: replyTokens },
      { "anthropic-version": "2023-06-01" },
    );
    const body = await response.json();
    if (response.status !== 200) throw new Error(`${response.status}: ${JSON.stringify(body)}`);
    return {
      ...whole(body.content[0].text, body.usage.output_tokens),
      failovers: response.headers.get("x-herd-failovers"),
    };
  },
  // A stop string the reply meets past the failure (found in a reply taken first), and a budget.
  "OpenAI chat, streamed, with a stop string": async (url, progress) =>
    protocols["OpenAI chat, streamed"]!(url, progress, stopString.value ? { stop: [stopString.value] } : {}),
  "OpenAI completions, streamed, 600 tokens": async (url, progress) =>
    sseReply(
      await post(`${url}/v1/completions`, {
        model: "stories260K",
        prompt: "Once upon a time",
        temperature: 0,
        max_tokens: 600,
        stream: true,
      }),
      progress,
      ({ data }, reply) => {
        if (data === "[DONE]") reply.ends += 1;
        else {
          const chunk = JSON.parse(data);
          reply.text += chunk.choices?.[0]?.text ?? "";
          if (chunk.usage) reply.completionTokens = chunk.usage.completion_tokens;
        }
      },
    ),
};

/** A stop string the reply meets past the failure (the test finds it in a reply taken first). */
export const stopString = { value: "" };

export function commonPrefix(a: string, b: string): number {
  let at = 0;
  while (at < a.length && a[at] === b[at]) at += 1;
  return at;
}

export const whole = (text: string, completionTokens: number): Reply => ({
  text,
  completionTokens,
  ends: 1,
  errors: [],
  longestPauseMs: 0,
  progress: { chunks: 0 },
});

export async function ndjsonReply(
  response: Response,
  progress: { chunks: number },
  textOf: (line: { message?: { content?: string }; response?: string }) => string,
): Promise<Reply> {
  if (response.status !== 200) throw new Error(`${response.status}: ${await response.text()}`);
  const reply: Reply = { text: "", ends: 0, errors: [], longestPauseMs: 0, progress };
  let last = performance.now();
  let pending = "";
  const decoder = new TextDecoder();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const text of lines.filter(Boolean)) {
      const now = performance.now();
      if (now - last > reply.longestPauseMs) {
        reply.longestPauseMs = now - last;
        reply.pausedAt = reply.text.length;
      }
      last = now;
      progress.chunks += 1;
      const line = JSON.parse(text);
      if (line.error) reply.errors.push(text);
      reply.text += textOf(line);
      if (line.done) {
        reply.ends += 1;
        reply.completionTokens = line.eval_count;
      }
    }
  }
  return reply;
}
