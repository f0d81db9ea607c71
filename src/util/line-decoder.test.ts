import { describe, expect, it } from "vitest";
import { LineDecoder, readLines } from "./line-decoder.js";

const encoder = new TextEncoder();

/** Feeds the chunks through one decoder and returns every line, the flushed last one included. */
function decodeAll(chunks: Uint8Array[]): string[] {
  const decoder = new LineDecoder();
  return [...chunks.flatMap((chunk) => decoder.decode(chunk)), ...decoder.flush()];
}

/** The bytes cut at the given offsets. */
function cut(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const bounds = [0, ...offsets, bytes.length];
  return bounds.slice(1).map((end, index) => bytes.subarray(bounds[index], end));
}

async function* asAsync(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

const inputs = [
  { name: "\\n terminators", text: "first\nsecond\n\nfourth\n", lines: ["first", "second", "", "fourth"] },
  {
    name: "\\r\\n terminators",
    text: "first\r\nsecond\r\n\r\nfourth\r\n",
    lines: ["first", "second", "", "fourth"],
  },
  {
    name: "lone \\r terminators",
    text: "first\rsecond\r\rfourth\r",
    lines: ["first", "second", "", "fourth"],
  },
  // `\n\r` is two terminators, `\r\n` one.
  { name: "mixed terminators", text: "a\r\nb\nc\rd\n\re\r\n", lines: ["a", "b", "c", "d", "", "e"] },
  {
    name: "multi-byte UTF-8 (2, 3 and 4 bytes)",
    text: "héllo ✓\n😀 ok\r\nΩ\n",
    lines: ["héllo ✓", "😀 ok", "Ω"],
  },
  { name: "an unterminated last line", text: "one\ntwo ✓", lines: ["one", "two ✓"] },
  { name: "no terminator at all", text: "just one line", lines: ["just one line"] },
  { name: "nothing", text: "", lines: [] },
];

describe("LineDecoder", () => {
  it.each(inputs)("gives the same lines for $name however the bytes are cut", ({ text, lines }) => {
    const bytes = encoder.encode(text);
    expect(decodeAll([bytes])).toEqual(lines);
    expect(
      decodeAll(
        cut(
          bytes,
          Array.from({ length: bytes.length }, (_, index) => index),
        ),
      ),
    ).toEqual(lines);
    for (let first = 0; first <= bytes.length; first++) {
      expect(decodeAll(cut(bytes, [first])), `cut at ${first}`).toEqual(lines);
      for (let second = first + 1; second < bytes.length; second++) {
        expect(decodeAll(cut(bytes, [first, second])), `cut at ${first} and ${second}`).toEqual(lines);
      }
    }
  });

  it("hands out a line as soon as its terminator arrives, not before", () => {
    const decoder = new LineDecoder();
    expect(decoder.decode(encoder.encode("partial"))).toEqual([]);
    expect(decoder.decode(encoder.encode(" line"))).toEqual([]);
    expect(decoder.decode(encoder.encode("\rnext"))).toEqual(["partial line"]);
    expect(decoder.decode(encoder.encode("\n"))).toEqual(["next"]);
    expect(decoder.flush()).toEqual([]);
  });

  it("counts a \\r\\n split between chunks as one terminator", () => {
    const decoder = new LineDecoder();
    expect(decoder.decode(encoder.encode("a\r"))).toEqual(["a"]);
    expect(decoder.decode(encoder.encode("\nb\r"))).toEqual(["b"]);
    expect(decoder.decode(encoder.encode("\n"))).toEqual([]);
    expect(decoder.decode(encoder.encode("\n"))).toEqual([""]);
    expect(decoder.flush()).toEqual([]);
  });

  it("ends a line at a lone \\r even when the next chunk starts another line", () => {
    const decoder = new LineDecoder();
    expect(decoder.decode(encoder.encode("a\r"))).toEqual(["a"]);
    expect(decoder.decode(encoder.encode("b\r"))).toEqual(["b"]);
    expect(decoder.decode(encoder.encode("\r"))).toEqual([""]);
    expect(decoder.flush()).toEqual([]);
  });

  it("holds a multi-byte character split between chunks until it is whole", () => {
    const bytes = encoder.encode("😀\n");
    const decoder = new LineDecoder();
    expect(decoder.decode(bytes.subarray(0, 1))).toEqual([]);
    expect(decoder.decode(bytes.subarray(1, 3))).toEqual([]);
    expect(decoder.decode(bytes.subarray(3))).toEqual(["😀"]);
  });

  it("returns the unterminated last line from flush, once", () => {
    const decoder = new LineDecoder();
    expect(decoder.decode(encoder.encode("done\nhalf"))).toEqual(["done"]);
    expect(decoder.flush()).toEqual(["half"]);
    expect(decoder.flush()).toEqual([]);
  });

  it.each([
    { name: "a byte that is never UTF-8", bytes: [0x61, 0xff, 0x0a] },
    { name: "a continuation byte with no lead byte", bytes: [0x80, 0x0a] },
    { name: "an overlong encoding of '/'", bytes: [0xc0, 0xaf, 0x0a] },
  ])("throws on $name", ({ bytes }) => {
    expect(() => new LineDecoder().decode(new Uint8Array(bytes))).toThrow(TypeError);
  });

  it("throws at flush when the stream ends inside a multi-byte character", () => {
    const decoder = new LineDecoder();
    expect(decoder.decode(new Uint8Array([0x61, 0xe2, 0x9c]))).toEqual([]);
    expect(() => decoder.flush()).toThrow(TypeError);
  });

  // Streams may deliver empty chunks; one between the `\r` and the `\n` of a `\r\n` must not
  // produce an extra empty line (in SSE, that would end an event early).
  it("ignores an empty chunk between the \\r and \\n of one terminator", () => {
    const chunks = ["data: x\r", "", "\ndata: y\n"].map((text) => encoder.encode(text));
    expect(decodeAll(chunks)).toEqual(["data: x", "data: y"]);
  });
});

describe("readLines", () => {
  it("yields the lines of an async byte stream, the unterminated last one included", async () => {
    const bytes = encoder.encode("alpha\r\nbéta\rgamma");
    const lines: string[] = [];
    for await (const line of readLines(asAsync(cut(bytes, [3, 6, 9, 13])))) lines.push(line);
    expect(lines).toEqual(["alpha", "béta", "gamma"]);
  });

  it("rejects on invalid UTF-8", async () => {
    const lines = readLines(asAsync([encoder.encode("fine\n"), new Uint8Array([0xff, 0x0a])]));
    await expect(lines.next()).resolves.toEqual({ done: false, value: "fine" });
    await expect(lines.next()).rejects.toThrow(TypeError);
  });
});
