import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ChecksumMismatchError } from "../protocol/errors.js";
import { downloadFile, presentBytes, type RangeSource } from "./download-file.js";

/** Serves a buffer by ranges in 64 KiB chunks, counting what it sends; can break after a byte budget. */
class BufferSource implements RangeSource {
  served = 0;
  requests: Array<[number, number]> = [];
  constructor(
    private readonly data: Buffer,
    private budget = Number.POSITIVE_INFINITY,
  ) {}

  async open(start: number, end: number): Promise<AsyncIterable<Uint8Array>> {
    this.requests.push([start, end]);
    const self = this;
    return (async function* () {
      for (let offset = start; offset < end; offset += 65_536) {
        const chunk = self.data.subarray(offset, Math.min(end, offset + 65_536));
        if (self.served + chunk.length > self.budget) throw new Error("connection reset by the test");
        self.served += chunk.length;
        yield chunk;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
  }
}

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

describe("downloadFile", () => {
  let directory: string;
  const data = randomBytes(5 * 1024 * 1024 + 123);
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "herd-download-"));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  const request = (source: RangeSource, signal = new AbortController().signal) => ({
    source,
    path: join(directory, "model.gguf"),
    sizeBytes: data.length,
    sha256: sha256(data),
    label: "model.gguf",
    signal,
    parallelFromBytes: 1024 * 1024,
    connections: 3,
    chunkBytes: 1024 * 1024,
    retries: 0,
  });

  it("fetches a large file in ranges over several connections, in file order, and verifies it", async () => {
    const source = new BufferSource(data);
    let open = 0;
    let mostOpen = 0;
    const counting: RangeSource = {
      open: async (start, end) => {
        const inner = await source.open(start, end);
        return (async function* () {
          mostOpen = Math.max(mostOpen, ++open);
          try {
            yield* inner;
          } finally {
            open--;
          }
        })();
      },
    };
    const result = await downloadFile(request(counting));
    // Six 1 MiB ranges (the last one 123 bytes), asked for in order, three at a time.
    expect(source.requests.map(([start]) => start)).toEqual(
      [0, 1, 2, 3, 4, 5].map((index) => index * 2 ** 20),
    );
    expect(source.requests.at(-1)).toEqual([5 * 2 ** 20, data.length]);
    expect(mostOpen).toBe(3);
    expect(result.transferredBytes).toBe(data.length);
    expect((await readFile(join(directory, "model.gguf"))).equals(data)).toBe(true);
    expect(await readdir(directory)).toEqual(["model.gguf"]);
  });

  it("resumes an interrupted download, fetching only the bytes that are missing", async () => {
    const broken = new BufferSource(data, 2 * 1024 * 1024 + 5000);
    await expect(downloadFile(request(broken))).rejects.toThrow("connection reset by the test");
    const kept = await presentBytes(join(directory, "model.gguf"), data.length, sha256(data));
    expect(kept).toBe(broken.served);
    expect(kept).toBeGreaterThan(0);

    const healthy = new BufferSource(data);
    const result = await downloadFile(request(healthy));
    expect(healthy.served).toBe(data.length - kept);
    expect(result.transferredBytes).toBe(data.length - kept);
    expect((await readFile(join(directory, "model.gguf"))).equals(data)).toBe(true);
  });

  it("starts again when the partial file lacks bytes its record counts", async () => {
    const broken = new BufferSource(data, 2 * 1024 * 1024 + 5000);
    await expect(downloadFile(request(broken))).rejects.toThrow("connection reset by the test");
    await truncate(join(directory, "model.gguf.part"), 1000);
    expect(await presentBytes(join(directory, "model.gguf"), data.length, sha256(data))).toBe(0);

    const healthy = new BufferSource(data);
    await downloadFile(request(healthy));
    expect(healthy.served).toBe(data.length);
    expect((await readFile(join(directory, "model.gguf"))).equals(data)).toBe(true);
  });

  it("retries a range that breaks, keeping what it got", async () => {
    let breaks = 2;
    const flaky: RangeSource = {
      open: async (start, end) => {
        const inner = await new BufferSource(data).open(start, end);
        const fail = breaks-- > 0;
        return (async function* () {
          let sent = 0;
          for await (const chunk of inner) {
            if (fail && sent > 100_000) throw new Error("reset");
            sent += chunk.length;
            yield chunk;
          }
        })();
      },
    };
    await downloadFile({ ...request(flaky), retries: 1 });
    expect((await readFile(join(directory, "model.gguf"))).equals(data)).toBe(true);
  });

  it("discards a file whose checksum does not match and registers nothing", async () => {
    const corrupt = Buffer.from(data);
    corrupt[4_000_000] = corrupt[4_000_000]! ^ 0xff;
    await expect(downloadFile(request(new BufferSource(corrupt)))).rejects.toBeInstanceOf(
      ChecksumMismatchError,
    );
    expect(await readdir(directory)).toEqual([]);
  });

  it("stops when aborted and keeps the partial file for later", async () => {
    const abort = new AbortController();
    const source = new BufferSource(data);
    const download = downloadFile({
      ...request(source, abort.signal),
      onProgress: (present) => {
        if (present > 1024 * 1024) abort.abort(new Error("client went away"));
      },
    });
    await expect(download).rejects.toThrow("client went away");
    expect((await readdir(directory)).sort()).toEqual(["model.gguf.part", "model.gguf.part.json"]);
    expect(await presentBytes(join(directory, "model.gguf"), data.length, sha256(data))).toBe(source.served);
  });
});
