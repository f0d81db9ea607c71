import { expect } from "vitest";

/** One SSE event as it was on the wire. */
export interface WireEvent {
  event: string | null;
  data: string;
}

/**
 * Parses an SSE body strictly: every event ends with a blank line, each line is `event: `, `data: `
 * or a `:` comment, nothing is left over at the end, and (but for OpenAI's `[DONE]`) every data is
 * one JSON value on one line.
 */
export function parseSseStrictly(body: string): WireEvent[] {
  expect(body.endsWith("\n\n"), "the stream ends with a blank line").toBe(true);
  const events: WireEvent[] = [];
  for (const block of body.slice(0, -2).split("\n\n")) {
    let event: string | null = null;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const match = /^(event|data): (.*)$/.exec(line);
      expect(match, `a well-formed SSE line: ${JSON.stringify(line)}`).not.toBeNull();
      if (match![1] === "event") event = match![2]!;
      else data.push(match![2]!);
    }
    if (data.length === 0 && event === null) continue; // a block of comments only (keep-alive)
    expect(data, "exactly one data line per event").toHaveLength(1);
    if (data[0] !== "[DONE]") JSON.parse(data[0]!);
    events.push({ event, data: data[0]! });
  }
  return events;
}

/** Parses an NDJSON body strictly: every line a JSON object, each ended by `\n`, no blank lines. */
export function parseNdjsonStrictly(body: string): Array<Record<string, unknown>> {
  expect(body.endsWith("\n"), "the last line ends with a newline").toBe(true);
  return body
    .slice(0, -1)
    .split("\n")
    .map((line) => {
      const value = JSON.parse(line) as unknown;
      expect(typeof value === "object" && value !== null && !Array.isArray(value), `an object: ${line}`).toBe(
        true,
      );
      return value as Record<string, unknown>;
    });
}

/**
 * Checks an Anthropic event stream against the published order: `message_start` first; then
 * content blocks, each `content_block_start` (index 0, 1, ...), deltas of that index and type, and
 * `content_block_stop`; then one `message_delta` with a stop reason and usage; `message_stop`
 * last. `ping` may come anywhere after `message_start`. `message_start` carries the prompt's real
 * token count, the one the final usage repeats. Returns the blocks' types and text.
 */
export function checkAnthropicStream(events: WireEvent[]): {
  blocks: Array<{ type: string; text: string; name?: string }>;
  stopReason: string;
  usage: { input_tokens: number; output_tokens: number };
} {
  const data = events.map((event) => {
    const value = JSON.parse(event.data) as { type: string; [field: string]: unknown };
    expect(event.event, "the event name repeats the data's type").toBe(value.type);
    return value;
  });
  const [first, ...rest] = data;
  expect(first?.type).toBe("message_start");
  const message = first!.message as Record<string, unknown>;
  expect(message).toMatchObject({ type: "message", role: "assistant", content: [], stop_reason: null });
  expect(typeof message.id).toBe("string");
  expect(typeof message.model).toBe("string");
  expect(message.usage).toMatchObject({
    input_tokens: expect.any(Number),
    output_tokens: expect.any(Number),
  });
  const blocks: Array<{ type: string; text: string; name?: string }> = [];
  let open: number | undefined;
  let index = 0;
  for (; index < rest.length; index++) {
    const value = rest[index]!;
    if (value.type === "message_delta") break;
    if (value.type === "content_block_start") {
      expect(open, "a block starts only after the previous one stopped").toBeUndefined();
      expect(value.index).toBe(blocks.length);
      const block = value.content_block as { type: string; text?: string; name?: string; id?: string };
      expect(["text", "tool_use", "thinking"]).toContain(block.type);
      if (block.type === "tool_use") {
        expect(typeof block.id).toBe("string");
        expect(typeof block.name).toBe("string");
        expect(block).toHaveProperty("input", {});
      }
      blocks.push({ type: block.type, text: "", name: block.name });
      open = value.index as number;
    } else if (value.type === "content_block_delta") {
      expect(value.index).toBe(open);
      const delta = value.delta as { type: string; text?: string; partial_json?: string; thinking?: string };
      const expected = { text: "text_delta", tool_use: "input_json_delta", thinking: "thinking_delta" }[
        blocks[open!]!.type
      ];
      expect(delta.type).toBe(expected);
      blocks[open!]!.text += delta.text ?? delta.partial_json ?? delta.thinking ?? "";
    } else if (value.type === "content_block_stop") {
      expect(value.index).toBe(open);
      open = undefined;
    } else {
      expect(value.type, "only content block events between message_start and message_delta").toBe("ping");
    }
  }
  expect(open, "every block stopped before message_delta").toBeUndefined();
  const tail = rest.slice(index).filter((value) => value.type !== "ping");
  expect(tail.map((value) => value.type)).toEqual(["message_delta", "message_stop"]);
  const delta = tail[0]!.delta as { stop_reason: string; stop_sequence: unknown };
  expect(["end_turn", "max_tokens", "stop_sequence", "tool_use"]).toContain(delta.stop_reason);
  expect(delta).toHaveProperty("stop_sequence");
  const usage = tail[0]!.usage as { input_tokens: number; output_tokens: number };
  expect(usage.output_tokens).toBeGreaterThan(0);
  expect((message.usage as { input_tokens: number }).input_tokens, "message_start's input tokens").toBe(
    usage.input_tokens,
  );
  if (delta.stop_reason === "stop_sequence") expect(typeof delta.stop_sequence).toBe("string");
  else expect(delta.stop_sequence).toBeNull();
  return { blocks, stopReason: delta.stop_reason, usage };
}

/**
 * Checks an OpenAI chat-completions stream: every chunk a `chat.completion.chunk` of one id, the
 * first delta carries the assistant role, exactly one chunk has a finish reason, a usage chunk
 * with no choices follows it when usage was asked for, and `[DONE]` ends the stream.
 */
export function checkChatCompletionStream(events: WireEvent[], withUsage: boolean) {
  expect(events.at(-1)?.data).toBe("[DONE]");
  const chunks = events.slice(0, -1).map((event) => {
    expect(event.event).toBeNull();
    return JSON.parse(event.data) as {
      id: string;
      object: string;
      created: number;
      model: string;
      choices: Array<{ index: number; delta: Record<string, unknown>; finish_reason: string | null }>;
      usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
    };
  });
  for (const chunk of chunks) {
    expect(chunk.object).toBe("chat.completion.chunk");
    expect(chunk.id).toBe(chunks[0]!.id);
    expect(typeof chunk.created).toBe("number");
    expect(typeof chunk.model).toBe("string");
    expect(Array.isArray(chunk.choices)).toBe(true);
  }
  expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
  const finishing = chunks.filter((chunk) => chunk.choices.some((choice) => choice.finish_reason));
  expect(finishing).toHaveLength(1);
  if (withUsage) {
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({
      prompt_tokens: expect.any(Number),
      completion_tokens: expect.any(Number),
    });
  }
  return {
    chunks,
    text: chunks.map((chunk) => (chunk.choices[0]?.delta.content as string | undefined) ?? "").join(""),
    finishReason: finishing[0]!.choices[0]!.finish_reason,
  };
}

/**
 * Checks an Ollama NDJSON stream: every line names the model and has `created_at`; all lines but
 * the last have `done: false`; the last has `done: true`, a reason, and counts and durations.
 */
export function checkOllamaStream(lines: Array<Record<string, unknown>>, model: string) {
  expect(lines.length).toBeGreaterThan(1);
  for (const value of lines) {
    expect(value.model).toBe(model);
    expect(Number.isNaN(Date.parse(value.created_at as string))).toBe(false);
  }
  for (const value of lines.slice(0, -1)) expect(value.done).toBe(false);
  const last = lines.at(-1)!;
  expect(last).toMatchObject({
    done: true,
    done_reason: expect.stringMatching(/^(stop|length)$/),
    total_duration: expect.any(Number),
    load_duration: expect.any(Number),
    prompt_eval_count: expect.any(Number),
    prompt_eval_duration: expect.any(Number),
    eval_count: expect.any(Number),
    eval_duration: expect.any(Number),
  });
  return last;
}
