import { readLines } from "./line-decoder.js";

/** One server-sent event (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
export interface ServerSentEvent {
  event: string | null;
  data: string;
  id: string | null;
}

/** Thrown for a stream that breaks the SSE grammar in a way that would lose data. */
export class SseParseError extends Error {
  override name = "SseParseError";
}

/**
 * Parses an SSE byte stream into events. Comment lines (`:`) are skipped as the spec says; an event
 * is dispatched at a blank line; an unterminated event at the end of the stream is an error, because
 * its data was cut off.
 */
export async function* decodeServerSentEvents(
  chunks: AsyncIterable<Uint8Array>,
): AsyncGenerator<ServerSentEvent> {
  let event: string | null = null;
  let id: string | null = null;
  let data: string[] = [];
  let pending = false;
  for await (const line of readLines(chunks)) {
    if (line === "") {
      if (pending) yield { event, data: data.join("\n"), id };
      event = null;
      id = null;
      data = [];
      pending = false;
      continue;
    }
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    pending = true;
    switch (field) {
      case "data":
        data.push(value);
        break;
      case "event":
        event = value;
        break;
      case "id":
        id = value;
        break;
      case "retry":
        break;
      default:
        throw new SseParseError(`unknown SSE field '${field}'`);
    }
  }
  if (pending) throw new SseParseError("stream ended in the middle of an event");
}

/**
 * Serializes one event; data with line breaks (`\n`, `\r\n` or `\r`) becomes several `data:` lines,
 * which a decoder joins back with `\n`. Event names and ids cannot hold line breaks at all.
 */
export function encodeServerSentEvent(event: { event?: string; data: string; id?: string }): string {
  let text = "";
  for (const [field, value] of [
    ["event", event.event],
    ["id", event.id],
  ] as const) {
    if (value === undefined) continue;
    if (/[\r\n]/.test(value)) throw new SseParseError(`an SSE ${field} cannot contain a line break`);
    text += `${field}: ${value}\n`;
  }
  for (const line of event.data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
  return `${text}\n`;
}
