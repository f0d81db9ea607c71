import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkoutEngineSource, type EngineSource } from "./engine-source.js";

const exec = promisify(execFile);

describe("checkoutEngineSource", () => {
  let directory: string;
  let source: EngineSource;

  /** A source bundle as the engine's package ships it: one commit, a vocabulary file in `models/`. */
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "herd-engine-source-"));
    const repository = join(directory, "repository");
    await mkdir(join(repository, "models"), { recursive: true });
    await writeFile(join(repository, "models", "ggml-vocab-llama-spm.gguf"), "vocabulary");
    const git = (...args: string[]) => exec("git", ["-C", repository, ...args]);
    await git("init", "--quiet");
    await git("add", ".");
    await git("-c", "user.name=herd", "-c", "user.email=herd@localhost", "commit", "--quiet", "-m", "source");
    const commit = (await git("rev-parse", "HEAD")).stdout.trim();
    const bundlePath = join(directory, "source.bundle");
    await git("bundle", "create", "--quiet", bundlePath, "HEAD");
    source = { release: "v0.0.1", commit, version: `v0.0.1-${commit.slice(0, 7)}`, bundlePath };
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it("unpacks once when asked twice at once (a synth and a self-measure), leaving nothing half made", async () => {
    const cache = join(directory, "cache");
    const [first, second] = await Promise.all([
      checkoutEngineSource(source, cache),
      checkoutEngineSource(source, cache),
    ]);
    expect(second).toBe(first);
    expect(await readFile(join(first, "models", "ggml-vocab-llama-spm.gguf"), "utf8")).toBe("vocabulary");
    expect(await readdir(join(cache, "src"))).toEqual([source.version]);
    // Later calls find the finished checkout.
    expect(await checkoutEngineSource(source, cache)).toBe(first);
  });
});
