/**
 * Splits a byte stream into lines, whatever the chunk boundaries: a line may arrive in pieces,
 * a chunk may hold many lines, and `\r\n` may be split between chunks.
 */
export class LineDecoder {
  private readonly textDecoder = new TextDecoder("utf-8", { fatal: true });
  private buffer = "";
  private pendingCarriageReturn = false;

  /** Decodes a chunk and returns the lines it completed, without their terminators. */
  decode(chunk: Uint8Array): string[] {
    let text = this.textDecoder.decode(chunk, { stream: true });
    if (text === "") return [];
    if (this.pendingCarriageReturn) {
      this.pendingCarriageReturn = false;
      if (text.startsWith("\n")) text = text.slice(1);
    }
    this.buffer += text;
    const lines: string[] = [];
    let start = 0;
    for (let index = 0; index < this.buffer.length; index++) {
      const character = this.buffer.charCodeAt(index);
      if (character !== 10 && character !== 13) continue;
      lines.push(this.buffer.slice(start, index));
      if (character === 13) {
        if (index + 1 === this.buffer.length) this.pendingCarriageReturn = true;
        else if (this.buffer.charCodeAt(index + 1) === 10) index++;
      }
      start = index + 1;
    }
    this.buffer = this.buffer.slice(start);
    return lines;
  }

  /** Returns the last, unterminated line, if any. Throws on a truncated UTF-8 sequence. */
  flush(): string[] {
    const rest = this.buffer + this.textDecoder.decode();
    this.buffer = "";
    return rest.length > 0 ? [rest] : [];
  }
}

/** Yields the lines of a byte stream. */
export async function* readLines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new LineDecoder();
  for await (const chunk of chunks) yield* decoder.decode(chunk);
  yield* decoder.flush();
}
