import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidModelFileError } from "../protocol/errors.js";
import { checkGgufHeader } from "./check-gguf-header.js";
import { readGgufFacts } from "./read-model-profile.js";

const storiesPath = fileURLToPath(new URL("../../../shared/models/stories260K-f32.gguf", import.meta.url));

/** Little-endian GGUF pieces, to write headers by hand. */
const u32 = (value: number) => Buffer.from(new Uint32Array([value]).buffer);
const u64 = (value: bigint) => {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64LE(value);
  return buffer;
};
const text = (value: string) => Buffer.concat([u64(BigInt(Buffer.byteLength(value))), Buffer.from(value)]);
const header = (tensors: bigint, keys: bigint) =>
  Buffer.concat([Buffer.from("GGUF"), u32(3), u64(tensors), u64(keys)]);
const architectureKey = Buffer.concat([text("general.architecture"), u32(8), text("llama")]);

/** Hostile headers: each announces far more than the file holds. */
const hostile: Array<{ name: string; bytes: Buffer; problem: RegExp }> = [
  {
    name: "2^40 metadata keys",
    bytes: header(0n, 2n ** 40n),
    problem: /announces 1099511627776 metadata keys/,
  },
  { name: "2^63 tensors", bytes: header(2n ** 63n, 0n), problem: /announces 9223372036854775808 tensors/ },
  {
    name: "a 3 GiB key",
    bytes: Buffer.concat([header(0n, 1n), u64(3n * 2n ** 30n)]),
    problem: /metadata key 0 is 3221225472 bytes long/,
  },
  {
    name: "a 3 GiB string value",
    bytes: Buffer.concat([
      header(0n, 1n),
      text("general.name"),
      u32(8),
      u64(3n * 2n ** 30n),
      Buffer.alloc(32),
    ]),
    problem: /truncated inside its header: a string value .* needs 3221225472 bytes/,
  },
  {
    name: "an array of 2^40 bytes",
    bytes: Buffer.concat([header(0n, 1n), text("tokenizer.ggml.scores"), u32(9), u32(0), u64(2n ** 40n)]),
    problem: /an array of 1099511627776 elements/,
  },
  {
    name: "an array of 2^40 empty strings",
    bytes: Buffer.concat([header(0n, 1n), text("tokenizer.ggml.tokens"), u32(9), u32(8), u64(2n ** 40n)]),
    problem: /an array of 1099511627776 elements/,
  },
  {
    name: "an unknown value type",
    bytes: Buffer.concat([header(0n, 1n), text("general.name"), u32(77), Buffer.alloc(16)]),
    problem: /unknown metadata value type 77/,
  },
  {
    name: "a tensor with 2^62 elements",
    bytes: Buffer.concat([
      header(1n, 1n),
      architectureKey,
      text("token_embd.weight"),
      u32(2),
      u64(2n ** 31n),
      u64(2n ** 31n),
      u32(0),
      u64(0n),
    ]),
    problem: /tensor 0 has 4611686018427387904 elements/,
  },
  {
    name: "a tensor with 9 dimensions",
    bytes: Buffer.concat([
      header(1n, 1n),
      architectureKey,
      text("token_embd.weight"),
      u32(9),
      Buffer.alloc(96),
    ]),
    problem: /tensor 0 has 9 dimensions/,
  },
  {
    name: "version 99",
    bytes: Buffer.concat([Buffer.from("GGUF"), u32(99), Buffer.alloc(16)]),
    problem: /version 99/,
  },
];

describe("checkGgufHeader", () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "herd-gguf-header-"));
  });
  afterAll(async () => rm(directory, { recursive: true, force: true }));

  it("passes a real model", async () => {
    expect(await checkGgufHeader(storiesPath)).toBeUndefined();
  });

  for (const { name, bytes, problem } of hostile) {
    it(`rejects ${name} before anything large is allocated`, async () => {
      const path = join(directory, `${name.replaceAll(/\W+/g, "-")}.gguf`);
      await writeFile(path, bytes);
      const before = process.memoryUsage().rss;
      const error = await readGgufFacts(path).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidModelFileError);
      expect((error as InvalidModelFileError).problem).toMatch(problem);
      expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
    });
  }

  it("rejects every cut of a real header as truncated, or passes it on to the full check", async () => {
    const real = await readFile(storiesPath);
    for (const length of [5, 23, 24, 100, 1000, 4000, 9000]) {
      const path = join(directory, `cut-${length}.gguf`);
      await writeFile(path, real.subarray(0, length));
      expect(await checkGgufHeader(path), `cut at ${length}`).toMatch(/truncated|too short/);
    }
  });

  it("reads a real model with random bytes of its header changed as a model or as an InvalidModelFileError", async () => {
    const real = await readFile(storiesPath);
    const path = join(directory, "mutated.gguf");
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: 12_000 }), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        async (changes) => {
          const bytes = Buffer.from(real);
          for (const [offset, value] of changes) bytes[offset] = value;
          await writeFile(path, bytes);
          const before = process.memoryUsage().rss;
          const result = await readGgufFacts(path).catch((error: unknown) => error);
          if (result instanceof Error)
            expect(result, String(result.stack)).toBeInstanceOf(InvalidModelFileError);
          expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
        },
      ),
      {
        numRuns: Math.ceil(Number(process.env.FUZZ_RUNS ?? 2000) / 10),
        // Found by this test: a tensor type byte that names no ggml type.
        examples: [[[[11_790, 43]]]],
      },
    );
  }, 600_000);
});
