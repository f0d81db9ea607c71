import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TestHub } from "../../test/support/test-hub.js";
import { ChecksumMismatchError, HubError } from "../protocol/errors.js";
import { presentBytes } from "./download-file.js";
import { downloadInWorker } from "./download-in-worker.js";
import { HubClient } from "./hub-client.js";

const repository = "test-org/worker-GGUF";
const path = "model-Q8_0.gguf";
const data = randomBytes(48 * 1024 * 1024 + 77);
const sha256 = createHash("sha256").update(data).digest("hex");

describe("downloadInWorker", () => {
  let hub: TestHub;
  let directory: string;
  beforeAll(async () => {
    hub = await new TestHub().start();
    await hub.addRepository(repository, [{ path, data }]);
    await hub.addRepository("test-org/gated-GGUF", [{ path, data: data.subarray(0, 1000) }], { gated: true });
    directory = await mkdtemp(join(tmpdir(), "herd-download-worker-"));
  });
  afterEach(() => hub.heal(repository, path));
  afterAll(async () => {
    await hub.close();
    await rm(directory, { recursive: true, force: true });
  });

  const request = (target: string, signal = new AbortController().signal) => ({
    source: new HubClient({ endpoint: hub.endpoint }).rangeSourceFactory(repository, "main", path),
    path: target,
    sizeBytes: data.length,
    sha256,
    label: path,
    signal,
  });

  it("downloads over several connections on its own thread, verified, reporting progress to the end", async () => {
    const target = join(directory, "whole");
    const progress: number[] = [];
    const result = await downloadInWorker({
      ...request(target),
      onProgress: (bytes) => progress.push(bytes),
    });
    expect(result.transferredBytes).toBe(data.length);
    expect((await readFile(target)).equals(data)).toBe(true);
    expect(progress.at(-1)).toBe(data.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it("stops when aborted, keeping what arrived, and a second call fetches only the rest", async () => {
    const target = join(directory, "resumed");
    const before = hub.served(repository, path).bytes;
    hub.cutAfter(repository, path, 20 * 1024 * 1024);
    const abort = new AbortController();
    const retries: Error[] = [];
    const stopped = downloadInWorker({
      ...request(target, abort.signal),
      // The hub has cut every connection: stop while the worker waits to try again.
      onRetry: (error) => {
        retries.push(error as Error);
        abort.abort(new Error("stopped by the test"));
      },
    });
    await expect(stopped).rejects.toThrow("stopped by the test");
    expect(retries.length).toBeGreaterThan(0);
    // What was written is kept; only the chunks in flight when it stopped are lost.
    const kept = await presentBytes(target, data.length, sha256);
    const served = hub.served(repository, path).bytes;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(served - before);
    hub.heal(repository, path);
    const resumed = await downloadInWorker(request(target));
    expect(resumed.transferredBytes).toBe(data.length - kept);
    expect(hub.served(repository, path).bytes - served).toBe(data.length - kept);
    expect((await readFile(target)).equals(data)).toBe(true);
  });

  it("gives back the errors downloadFile throws, as their own classes", async () => {
    hub.corrupt(repository, path);
    const corrupt = await downloadInWorker(request(join(directory, "corrupt"))).catch((error) => error);
    expect(corrupt).toBeInstanceOf(ChecksumMismatchError);
    expect(corrupt).toMatchObject({ file: path, expected: sha256 });

    const gated = await downloadInWorker({
      ...request(join(directory, "gated")),
      source: new HubClient({ endpoint: hub.endpoint }).rangeSourceFactory(
        "test-org/gated-GGUF",
        "main",
        path,
      ),
      sizeBytes: 1000,
    }).catch((error) => error);
    expect(gated).toBeInstanceOf(HubError);
    expect(gated).toMatchObject({ hubStatus: 401, message: expect.stringMatching(/gated or private/) });
  });
});
