/**
 * What a streamed reply has sent so far, kept from the engine's own chunks so that another instance
 * can continue it token for token (see docs/stream-continuation.md). The engine is asked for the
 * id of each token it sends (`tokenIdFields`, with what they cost the engine); `observe` takes them
 * out again, so the client sees the chunks it would have seen without.
 *
 * This runs once per token, on a node whose cores the engine keeps busy, and almost every reply
 * ends without a failure: so `observe` only cuts the ids out of the chunk's text (no parsing, no
 * re-serialising) and keeps both pieces; they are read when a continuation needs them, or 512 at a
 * time (a batch is read hot in the cache, and a long reply holds little memory). Nothing is
 * validated beyond what the continuation needs: a chunk it cannot read leaves the reply not
 * continuable.
 */
export class ReplySoFar {
  /** The generated token ids, in order, up to the last point where they and the text agree. */
  private readonly ids: number[] = [];
  /** The text sent, in pieces (joined only when a reply is continued). */
  private readonly sent: string[] = [];
  private sentBytes = 0;
  private pieceBytes = 0;
  /** Ids and text no longer agree for good (a token whose text the engine held back or merged). */
  private broken = false;
  private resume = { ids: 0, pieces: 0 };
  /** Chunks observed and not read yet: each chunk as sent (JSON, without `data: `), then its ids' JSON. */
  private unread: string[] = [];
  /** The first chunk the engine sent: its id, creation time and model name shape a continuation's chunks. */
  shape: ChunkShape | undefined;
  /** The engine sent a part a continuation cannot carry on (reasoning, a tool call). */
  unsupported = false;
  /** `[DONE]` arrived (llama-server ends its chat and text completion streams with it): the reply is whole. */
  complete = false;
  /** The engine reported an error of its own (not an interruption): it is passed on, not continued. */
  failed = false;

  /** `textCompletion`: the chunks are `/v1/completions`' (their `logprobs` is null without ids), not chat's. */
  constructor(private readonly options: { stopStrings: boolean; textCompletion?: boolean }) {}

  /** Takes one SSE event (without its blank line) as the engine sent it; returns it as the client should see it. */
  observe(event: string): string {
    if (!event.startsWith("data: ")) return event;
    if (event === "data: [DONE]") {
      this.complete = true;
      return event;
    }
    if (event.includes('"error"') && !event.includes(idsKey)) return this.noteError(event);
    if (event.includes('"reasoning_content"') || event.includes('"tool_calls"')) this.unsupported = true;
    const ids = cutIds(event, this.options.textCompletion === true);
    if (ids === undefined) {
      // Chunks without ids: the first chunk (read now, for its shape), the engine's last ones.
      if (this.shape === undefined) this.noteChunk(event.slice(6), undefined);
      return event;
    }
    if (ids === "unreadable") {
      this.unsupported = true;
      return event;
    }
    if (this.shape === undefined) this.noteChunk(ids.chunk.slice(6), ids.ids);
    else this.unread.push(ids.chunk.slice(6), ids.ids);
    // Read in batches (hot in the cache, and the memory a long reply holds stays small).
    if (this.unread.length >= 2 * unreadBatch) this.readUnread();
    return ids.chunk;
  }

  /** Takes the text and token ids of one chunk (also a continuation's, as the engine sent them). */
  noteText(text: string, tokens: readonly TokenLogprob[]): void {
    this.readUnread();
    this.note(text, tokens);
  }

  /** Reads the chunks observed since the last read (see the class comment). */
  private readUnread(): void {
    const unread = this.unread;
    if (unread.length === 0) return;
    this.unread = [];
    for (let index = 0; index < unread.length; index += 2) this.noteChunk(unread[index]!, unread[index + 1]);
  }

  /** One chunk's JSON (its ids cut out, given apart): its shape where it is the first, its text and ids. */
  private noteChunk(json: string, idsJson: string | undefined): void {
    let chunk: EngineChunk;
    let tokens: TokenLogprob[];
    try {
      chunk = JSON.parse(json) as EngineChunk;
      tokens =
        idsJson === undefined ? [] : ((JSON.parse(idsJson) as { content?: TokenLogprob[] }).content ?? []);
    } catch {
      this.unsupported = true;
      return;
    }
    this.shape ??= {
      id: String(chunk.id ?? ""),
      created: Number(chunk.created ?? Math.floor(Date.now() / 1000)),
      model: String(chunk.model ?? ""),
      systemFingerprint: chunk.system_fingerprint,
    };
    const choice = chunk.choices?.[0];
    if (!choice) return;
    this.note(choice.delta?.content ?? choice.text ?? "", tokens);
  }

  private note(text: string, tokens: readonly TokenLogprob[]): void {
    if (text !== "") {
      this.sent.push(text);
      this.sentBytes += Buffer.byteLength(text);
    }
    if (this.broken) return;
    for (const token of tokens) {
      const piece = pieceOf(token, this.options.stopStrings);
      if (piece === undefined) {
        this.broken = true;
        return;
      }
      this.ids.push(token.id);
      this.pieceBytes += piece;
    }
    // The chat parser may hold back text (trailing spaces) for a chunk or two; where the text and
    // the tokens meet again, a continuation may start.
    if (this.pieceBytes === this.sentBytes) this.resume = { ids: this.ids.length, pieces: this.sent.length };
    else if (this.sentBytes > this.pieceBytes) this.broken = true;
  }

  /** Where a continuation starts: the tokens to append to the prompt, and the text sent after them. */
  resumePoint(): { tokens: number[]; textAfter: string } {
    this.readUnread();
    return {
      tokens: this.ids.slice(0, this.resume.ids),
      textAfter: this.sent.slice(this.resume.pieces).join(""),
    };
  }

  /** Starts a continuation's count afresh at the resume point: it sends `textAfter` again, which is not resent. */
  rewind(): void {
    this.readUnread();
    this.ids.length = this.resume.ids;
    this.sent.length = this.resume.pieces;
    this.sentBytes = Buffer.byteLength(this.sent.join(""));
    this.pieceBytes = this.sentBytes;
    this.broken = false;
    this.complete = false;
  }

  /**
   * A head whose engine stopped mid-reply says so in an `engine_interrupted` event: that is the
   * failure a continuation carries the reply past, so the client does not see it. Any other error
   * is the engine's answer, passed on.
   */
  private noteError(event: string): string {
    if (event.includes('"engine_interrupted"')) return "";
    this.failed = true;
    return event;
  }
}

const idsKey = '"logprobs":{"content":';
/** Chunks kept unread at most, before they are read together. */
const unreadBatch = 512;

/**
 * A chunk with its ids cut out, as the engine would have sent it without them (a text completion's
 * `logprobs` is null, a chat chunk has none), and the ids' JSON; undefined for a chunk without ids,
 * "unreadable" where the ids' object does not end.
 */
function cutIds(
  event: string,
  textCompletion: boolean,
): { chunk: string; ids: string } | "unreadable" | undefined {
  const at = event.indexOf(idsKey);
  if (at < 0) return undefined;
  const valueAt = at + '"logprobs":'.length;
  const end = endOfJsonValue(event, valueAt);
  if (end < 0) return "unreadable";
  const ids = event.slice(valueAt, end);
  if (textCompletion) return { chunk: `${event.slice(0, valueAt)}null${event.slice(end)}`, ids };
  // The key goes, with one of the commas around it.
  if (event[end] === ",") return { chunk: event.slice(0, at) + event.slice(end + 1), ids };
  if (event[at - 1] === ",") return { chunk: event.slice(0, at - 1) + event.slice(end), ids };
  return { chunk: event.slice(0, at) + event.slice(end), ids };
}

/** The index just past the JSON object or array that opens at `start`, strings skipped; -1 if it does not close. */
function endOfJsonValue(text: string, start: number): number {
  let depth = 0;
  for (let index = start; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === 0x22) {
      // A string: to its closing quote, escapes skipped.
      for (index++; index < text.length; index++) {
        const inner = text.charCodeAt(index);
        if (inner === 0x5c) index++;
        else if (inner === 0x22) break;
      }
    } else if (code === 0x7b || code === 0x5b) depth++;
    else if (code === 0x7d || code === 0x5d) {
      depth--;
      if (depth === 0) return index + 1;
    }
  }
  return -1;
}

/** What a continuation's chunks copy from the reply's first chunk. */
export interface ChunkShape {
  id: string;
  created: number;
  model: string;
  systemFingerprint: string | undefined;
}

/** One token as llama-server reports it with `n_probs`: `bytes` is the text sent with it. */
export interface TokenLogprob {
  id: number;
  bytes?: number[];
  top_probs?: Array<{ id: number; bytes?: number[] }>;
}

/** The fields of an engine chunk read here; anything else is passed on as it is. */
interface EngineChunk {
  id?: unknown;
  created?: unknown;
  model?: unknown;
  system_fingerprint?: string;
  error?: unknown;
  choices?: Array<{
    delta?: { content?: string | null; reasoning_content?: string | null; tool_calls?: unknown };
    text?: string;
    finish_reason?: string | null;
    logprobs?: { content?: TokenLogprob[] } | null;
  }>;
}

/**
 * The length in bytes of a token's own text, or undefined when it cannot be known. The text sent
 * with a token is the token's own unless the engine held back an earlier token's text (a possible
 * stop string, an incomplete UTF-8 character) and sends it now. The top candidate, when it is the
 * token sampled, carries the token's own text; otherwise the text sent is trusted only where
 * nothing can have been held back: no stop strings, and ASCII.
 */
function pieceOf(token: TokenLogprob, stopStrings: boolean): number | undefined {
  const sent = token.bytes;
  if (!sent) return undefined;
  const top = token.top_probs?.[0];
  if (top?.id === token.id && top.bytes) return sameBytes(top.bytes, sent) ? sent.length : undefined;
  if (stopStrings || sent.some((byte) => byte >= 0x80)) return undefined;
  return sent.length;
}

function sameBytes(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}
