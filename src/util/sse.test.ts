import { describe, expect, it } from "vitest";
import { decodeServerSentEvents, encodeServerSentEvent, type ServerSentEvent, SseParseError } from "./sse.js";

const encoder = new TextEncoder();

async function* asAsync(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

async function decode(chunks: Uint8Array[]): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const event of decodeServerSentEvents(asAsync(chunks))) events.push(event);
  return events;
}

/** Decodes until the stream fails; returns the events delivered before, and the error. */
async function decodeUntilError(text: string): Promise<{ events: ServerSentEvent[]; error: unknown }> {
  const events: ServerSentEvent[] = [];
  try {
    for await (const event of decodeServerSentEvents(asAsync([encoder.encode(text)]))) events.push(event);
  } catch (error) {
    return { events, error };
  }
  return { events, error: undefined };
}

/** A small seeded generator (mulberry32), so a failing random chunking can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

/** Non-empty chunks of 1 to 16 bytes, sized by the seed. */
function randomChunks(bytes: Uint8Array, seed: number): Uint8Array[] {
  const next = random(seed);
  const chunks: Uint8Array[] = [];
  for (let start = 0; start < bytes.length; ) {
    const end = Math.min(bytes.length, start + 1 + Math.floor(next() * 16));
    chunks.push(bytes.subarray(start, end));
    start = end;
  }
  return chunks;
}

// A llama-server-like stream with every feature the decoder handles.
const stream = [
  ": keep-alive comment\n",
  "\n",
  "event: message\n",
  "id: 1\n",
  'data: {"choices":[{"delta":{"content":"héllo ✓"}}]}\n',
  "\n",
  "data: line one\n",
  ": a comment inside an event\n",
  "data: line two\n",
  "data:\n",
  "data: 😀\n",
  "\n",
  "data:no space after the colon\n",
  "retry: 1000\n",
  "\n",
  "data:  two spaces keep one\n",
  "\n",
  "data\n",
  "\n",
  "data: [DONE]\n",
  "\n",
].join("");

const expected: ServerSentEvent[] = [
  { event: "message", id: "1", data: '{"choices":[{"delta":{"content":"héllo ✓"}}]}' },
  { event: null, id: null, data: "line one\nline two\n\n😀" },
  { event: null, id: null, data: "no space after the colon" },
  { event: null, id: null, data: " two spaces keep one" },
  { event: null, id: null, data: "" },
  { event: null, id: null, data: "[DONE]" },
];

describe("decodeServerSentEvents", () => {
  const variants = [
    { terminator: "\\n", bytes: encoder.encode(stream) },
    { terminator: "\\r\\n", bytes: encoder.encode(stream.replaceAll("\n", "\r\n")) },
    { terminator: "\\r", bytes: encoder.encode(stream.replaceAll("\n", "\r")) },
  ];

  it.each(variants)("decodes a $terminator stream sent in one chunk", async ({ bytes }) => {
    expect(await decode([bytes])).toEqual(expected);
  });

  it.each(variants)("decodes a $terminator stream sent one byte at a time", async ({ bytes }) => {
    const chunks = Array.from(bytes, (_, index) => bytes.subarray(index, index + 1));
    expect(await decode(chunks)).toEqual(expected);
  });

  it.each(variants)("decodes a $terminator stream cut in two at every byte", async ({ bytes }) => {
    for (let offset = 0; offset <= bytes.length; offset++) {
      const chunks = [bytes.subarray(0, offset), bytes.subarray(offset)];
      expect(await decode(chunks), `cut at ${offset}`).toEqual(expected);
    }
  });

  it.each(variants.flatMap((variant) => [1, 2, 3, 42, 1234].map((seed) => ({ ...variant, seed }))))(
    "decodes a $terminator stream in random chunks (seed $seed)",
    async ({ bytes, seed }) => {
      expect(await decode(randomChunks(bytes, seed))).toEqual(expected);
    },
  );

  it("does not carry an event's name or id over to the next event", async () => {
    const text = "event: first\nid: 7\ndata: a\n\ndata: b\n\n";
    expect(await decode([encoder.encode(text)])).toEqual([
      { event: "first", id: "7", data: "a" },
      { event: null, id: null, data: "b" },
    ]);
  });

  it.each([
    { name: "an empty stream", text: "" },
    { name: "only comments and blank lines", text: ": ping\n\n\n: ping\n\n" },
  ])("yields no event for $name", async ({ text }) => {
    expect(await decode([encoder.encode(text)])).toEqual([]);
  });

  it.each([
    { name: "a data line without its blank line", text: "data: a\n\ndata: cut off\n" },
    { name: "a data line without its line end", text: "data: a\n\ndata: cut" },
    { name: "an event name alone", text: "data: a\n\nevent: done\n" },
  ])("throws SseParseError for $name at the end, after the whole events", async ({ text }) => {
    const { events, error } = await decodeUntilError(text);
    expect(events).toEqual([{ event: null, id: null, data: "a" }]);
    expect(error).toBeInstanceOf(SseParseError);
    expect((error as Error).message).toMatch(/ended in the middle of an event/);
  });

  it.each([
    { line: "foo: bar", field: "foo" },
    { line: "Data: upper case", field: "Data" },
    { line: '{"json": "without data:"}', field: '{"json"' },
  ])("throws SseParseError naming the unknown field in $line", async ({ line, field }) => {
    const { events, error } = await decodeUntilError(`data: a\n\n${line}\n\n`);
    expect(events).toHaveLength(1);
    expect(error).toBeInstanceOf(SseParseError);
    expect((error as Error).message).toBe(`unknown SSE field '${field}'`);
  });
});

describe("encodeServerSentEvent", () => {
  it.each([
    { event: { data: "hello" }, text: "data: hello\n\n" },
    { event: { data: "" }, text: "data: \n\n" },
    { event: { data: "a\nb\n" }, text: "data: a\ndata: b\ndata: \n\n" },
    { event: { event: "event", id: "42", data: "[DONE]" }, text: "event: event\nid: 42\ndata: [DONE]\n\n" },
  ])("encodes $event.data as the lines $text", ({ event, text }) => {
    expect(encodeServerSentEvent(event)).toBe(text);
  });

  const roundTrips = [
    { data: '{"choices":[{"delta":{"content":"héllo ✓ 😀"}}]}' },
    { data: "line one\nline two\n\nline four" },
    { data: "" },
    { data: "\n" },
    { data: "  leading spaces" },
    { data: ": looks like a comment" },
    { data: "data: looks like a field" },
    { data: "[DONE]" },
    { event: "message", data: "x" },
    { event: "event", id: "17", data: "y" },
    { event: "", id: "", data: "z" },
  ];

  const asDecoded = (event: (typeof roundTrips)[number]): ServerSentEvent => ({
    event: event.event ?? null,
    id: event.id ?? null,
    data: event.data,
  });

  it.each(roundTrips)("decodes what it encoded, sent one byte at a time: %j", async (event) => {
    const bytes = encoder.encode(encodeServerSentEvent(event));
    const chunks = Array.from(bytes, (_, index) => bytes.subarray(index, index + 1));
    expect(await decode(chunks)).toEqual([asDecoded(event)]);
  });

  it.each([1, 2, 3])("decodes a stream of encoded events in random chunks (seed %i)", async (seed) => {
    const bytes = encoder.encode(roundTrips.map((event) => encodeServerSentEvent(event)).join(""));
    expect(await decode(randomChunks(bytes, seed))).toEqual(roundTrips.map(asDecoded));
  });

  // SSE has no way to carry a carriage return in data: every line break becomes a new `data:` line
  // and comes back as `\n`. What matters is that nothing after the break is lost.
  it.each([{ data: "a\rb" }, { data: "a\r\nb" }])(
    "keeps the text after a carriage return in the data: %j",
    async (event) => {
      const decoded = await decode([encoder.encode(encodeServerSentEvent(event))]);
      expect(decoded).toEqual([{ event: null, id: null, data: "a\nb" }]);
    },
  );

  it("refuses an event name with a line break", () => {
    expect(() => encodeServerSentEvent({ event: "a\nb", data: "x" })).toThrow(/line break/);
  });
});
