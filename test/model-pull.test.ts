import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { engineVocabPath } from "../src/engine/engine-source.js";
import { HerdProcess, sharedModelPath, stopAllHerdProcesses, waitFor } from "./support/herd-process.js";
import { writeSplitSynthModel } from "./support/split-gguf.js";
import { TestHub } from "./support/test-hub.js";

const repository = "test-org/tiny-GGUF";
const part1 = "tiny-Q8_0-00001-of-00002.gguf";
const part2 = "tiny-Q8_0-00002-of-00002.gguf";
const stories = "stories260K-F32.gguf";

describe("pulling models from a hub", () => {
  let hub: TestHub;
  let node: HerdProcess;
  let scratch: string;
  let sizes: Record<string, number>;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), "herd-hub-"));
    const parts = await writeSplitSynthModel(
      scratch,
      "tiny-Q8_0",
      {
        vocabPath: await engineVocabPath(inject("engineCache")),
        layerCount: 4,
        embeddingLength: 256,
        feedForwardLength: 768,
        headCount: 4,
        weightType: "q8_0",
        seed: 7,
      },
      2,
    );
    hub = await new TestHub().start();
    const files = [
      { path: part1, data: await readFile(parts[0]!) },
      { path: part2, data: await readFile(parts[1]!) },
      { path: stories, data: await readFile(sharedModelPath) },
      { path: "README.md", data: Buffer.from("# tiny\n") },
    ];
    sizes = Object.fromEntries(files.map((file) => [file.path, file.data.length]));
    await hub.addRepository(repository, files);
    await hub.addRepository("test-org/gated-GGUF", [{ path: stories, data: files[2]!.data }], {
      gated: true,
    });
    await hub.addRepository("test-org/huge-GGUF", [
      { path: "huge-Q4_K_M.gguf", data: Buffer.from("GGUF"), declaredSize: 2 ** 50 },
    ]);
    node = await HerdProcess.start({ env: { HF_ENDPOINT: hub.endpoint, HF_TOKEN: "" } });
  });
  afterAll(async () => {
    await stopAllHerdProcesses();
    await hub?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  const downloads = () => readdir(join(node.home, "models", ".downloads")).catch(() => [] as string[]);

  it("resumes a split model the hub cut off mid-file, fetching only the missing bytes, and loads it", async () => {
    const cutAt = Math.floor(sizes[part2]! / 3);
    hub.cutAfter(repository, part2, cutAt);
    const broken = await node.cli(["pull", `${repository}:Q8_0`]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(
      /downloading tiny-Q8_0-00002-of-00002\.gguf failed .* are kept: pull again to resume/,
    );
    expect((await node.client.models()).map((model) => model.name)).not.toContain("tiny-Q8_0");
    expect((await downloads()).filter((name) => name.endsWith(".part"))).toHaveLength(1);
    expect(hub.served(repository, part1).bytes).toBe(sizes[part1]);
    expect(hub.served(repository, part2).bytes).toBe(cutAt);

    hub.heal(repository, part2);
    const resumed = await node.cli(["pull", `${repository}:Q8_0`]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^pulled tiny-Q8_0: llama, .* Q8_0, .* in 2 files, sha256 verified/);
    // Not a byte twice: the first part was complete, the second continued where it was cut.
    expect(hub.served(repository, part1).bytes).toBe(sizes[part1]);
    expect(hub.served(repository, part2).bytes).toBe(sizes[part2]);
    expect(await downloads()).toEqual([]);

    const [model] = (await node.client.models()).filter((candidate) => candidate.name === "tiny-Q8_0");
    expect(model?.files?.map((file) => file.name)).toEqual([part1, part2]);
    expect(model?.source).toMatch(/^hf:test-org\/tiny-GGUF\/tiny-Q8_0-00001-of-00002\.gguf@[0-9a-f]{40}$/);
    const loaded = await node.cli(["load", "tiny-Q8_0", "--parallel", "1", "--ctx", "256"]);
    expect(loaded.code, loaded.stderr).toBe(0);
    const response = await fetch(`${node.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "tiny-Q8_0", prompt: "Hello", max_tokens: 4, temperature: 0 }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { usage: { completion_tokens: number } };
    expect(body.usage.completion_tokens).toBeGreaterThan(0);

    const listed = await node.cli(["models", "list"]);
    const row = listed.stdout.split("\n").find((line) => line.startsWith("tiny-Q8_0 "));
    expect(row).toMatch(
      /llama +Q8_0 .* \S+\/models\/tiny-Q8_0\/tiny-Q8_0-00001-of-00002\.gguf \(\+1 parts\) +tiny-Q8_0-[0-9a-f]{6}$/,
    );
    const refused = await node.cli(["models", "rm", "tiny-Q8_0"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /model 'tiny-Q8_0' is used by instance tiny-Q8_0-[0-9a-f]{6}; unload it first or pass force/,
    );
    const forced = await node.cli(["models", "rm", "tiny-Q8_0", "--force"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect((await node.client.models()).map((found) => found.name)).not.toContain("tiny-Q8_0");
  });

  it("rejects a corrupted download and registers nothing", async () => {
    hub.corrupt(repository, stories);
    const pulled = await node.cli(["pull", `${repository}:F32`]);
    expect(pulled.code).toBe(1);
    expect(pulled.stderr).toMatch(
      /stories260K-F32\.gguf is corrupt: its sha256 is [0-9a-f]{64}, the source says/,
    );
    expect((await node.client.models()).map((model) => model.name)).not.toContain("tiny-F32");
    expect(await downloads()).toEqual([]);

    hub.heal(repository, stories);
    const again = await node.cli(["pull", `${repository}:F32`, "--name", "stories-pulled"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^pulled stories-pulled: llama, 293K parameters, F32/);
  });

  it("says clearly when a repository, a quantization or access is missing", async () => {
    const unknown = await node.cli(["pull", "test-org/nothing-here"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no repository 'test-org/nothing-here' on http://127.0.0.1:");
    const quantization = await node.cli(["pull", `${repository}:Q2_K`]);
    expect(quantization.stderr).toContain(
      "herd: test-org/tiny-GGUF has no Q2_K quantization; it has F32, Q8_0",
    );
    const gated = await node.cli(["pull", "test-org/gated-GGUF"]);
    expect(gated.code).toBe(1);
    expect(gated.stderr).toContain(
      "test-org/gated-GGUF is gated or private: set HF_TOKEN to a Hugging Face token that has access",
    );
    const response = await fetch(`${node.url}/herd/v1/models/pull`, {
      method: "POST",
      body: JSON.stringify({ ref: "not a reference" }),
    });
    expect(response.status).toBe(400);
  });

  it("pulls a gated repository with HF_TOKEN", async () => {
    const withToken = await HerdProcess.start({
      env: { HF_ENDPOINT: hub.endpoint, HF_TOKEN: "hf_test_token" },
    });
    const pulled = await withToken.cli(["pull", "test-org/gated-GGUF"]);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.stdout).toMatch(/^pulled gated-F32: llama/);
    await withToken.dispose();
  });

  it("checks the disk before downloading anything", async () => {
    const pulled = await node.cli(["pull", "test-org/huge-GGUF"]);
    expect(pulled.code).toBe(1);
    expect(pulled.stderr).toMatch(/not enough disk space in .*\.downloads: 1048576\.00 GiB more are needed/);
    expect(hub.served("test-org/huge-GGUF", "huge-Q4_K_M.gguf").requests).toBe(0);
  });

  it("with --offline uses what was pulled and never the network", async () => {
    const before = hub.served(repository, stories).requests;
    const offline = await node.cli(["pull", `${repository}:F32`, "--offline"]);
    expect(offline.code, offline.stderr).toBe(0);
    expect(offline.stdout).toMatch(/^pulled stories-pulled/);
    const missing = await node.cli(["pull", "test-org/other-GGUF:Q4_K_M", "--offline"]);
    expect(missing.stderr).toContain("test-org/other-GGUF:Q4_K_M has not been pulled to this node");
    expect(hub.served(repository, stories).requests).toBe(before);
  });

  it("stops downloading when the client disconnects, keeping what arrived", async () => {
    hub.cutAfter(repository, stories, 0);
    const abort = new AbortController();
    const pulling = node.client.pullModel(
      { ref: `${repository}:F32`, name: "stories-again" },
      () => {},
      abort.signal,
    );
    await waitFor("the download to start", async () =>
      hub.served(repository, stories).requests > 0 ? true : undefined,
    );
    abort.abort();
    await expect(pulling).rejects.toThrow();
    const requests = hub.served(repository, stories).requests;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // No retries after the client left.
    expect(hub.served(repository, stories).requests).toBe(requests);
    hub.heal(repository, stories);
  });
});
