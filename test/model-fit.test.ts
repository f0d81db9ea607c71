import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { engineVocabPath } from "../src/engine/engine-source.js";
import { planGgufFile } from "../src/models/gguf-writer.js";
import { synthModelContent } from "../src/models/synth-model.js";
import type { FitReport } from "../src/protocol/management.js";
import {
  type HerdProcess,
  sharedModelPath,
  startCluster,
  stopAllHerdProcesses,
} from "./support/herd-process.js";
import { TestHub } from "./support/test-hub.js";

interface PlanJson {
  head: string;
  splitMode: string;
  shards: Array<{ node: string }>;
  predicted: { decodeTokensPerSecond: number };
}

describe("herd models fit", () => {
  let a: HerdProcess;
  let hub: TestHub;
  let zeros: Buffer;

  beforeAll(async () => {
    hub = await new TestHub().start();
    // A second quantization big enough to show that only its header is read: real shape, zero weights.
    const { content } = await synthModelContent({
      vocabPath: await engineVocabPath(inject("engineCache")),
      layerCount: 2,
      embeddingLength: 256,
      feedForwardLength: 768,
      headCount: 4,
      weightType: "f16",
    });
    const plan = planGgufFile(content);
    zeros = Buffer.alloc(plan.totalBytes);
    zeros.set(plan.header);
    await hub.addRepository("test-org/stories-GGUF", [
      { path: "stories260K-F32.gguf", data: await readFile(sharedModelPath) },
      { path: "stories260K-F16.gguf", data: zeros },
    ]);
    [a] = (await startCluster(["a", "b"], ["--memory-limit", "300M"], { HF_ENDPOINT: hub.endpoint })) as [
      HerdProcess,
    ];
    expect((await a.cli(["models", "import", sharedModelPath])).code).toBe(0);
    const synth = await a.cli([
      "models",
      "synth",
      "--name",
      "big",
      "--layers",
      "8",
      "--embedding",
      "1024",
      "--heads",
      "16",
    ]);
    expect(synth.code, synth.stderr).toBe(0);
  }, 600_000);
  afterAll(async () => {
    await stopAllHerdProcesses();
    await hub?.close();
  });

  const fit = async (args: string[]) => {
    const result = await a.cli(["models", "fit", ...args, "--json"]);
    expect(result.code, result.stderr).toBe(0);
    return (JSON.parse(result.stdout) as FitReport).candidates;
  };
  const plan = async (args: string[]) => {
    const result = await a.cli(["plan", ...args, "--json"]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as PlanJson;
  };
  const names = async () =>
    new Map<string, string>((await a.client.cluster()).nodes.map((node) => [node.id, node.name]));

  it.each([[[] as string[]], [["--min-nodes", "2", "--split", "layer"]]])(
    "agrees with herd plan for each local model (flags %j), the one that fits first",
    async (flags) => {
      const candidates = await fit(flags);
      expect(candidates.map((candidate) => [candidate.name, candidate.fits])).toEqual([
        ["stories260K", true],
        ["big", false],
      ]);
      const [stories, big] = candidates as [FitReport["candidates"][0], FitReport["candidates"][0]];
      const planned = await plan(["stories260K", ...flags]);
      const nodeNames = await names();
      expect(stories.head).toBe(nodeNames.get(planned.head));
      expect(stories.splitMode).toBe(planned.splitMode);
      expect(stories.nodes).toEqual(planned.shards.map((shard) => nodeNames.get(shard.node)));
      // Link figures are measured again in the background; the two answers are seconds apart.
      expect(stories.predictedDecodeTokensPerSecond!).toBeCloseTo(
        planned.predicted.decodeTokensPerSecond,
        -1,
      );
      expect(big.reason).toMatch(/model 'big' does not fit: it needs/);
      const refused = await a.cli(["plan", "big", ...flags]);
      expect(refused.code).toBe(1);
    },
  );

  it("rates a hub repository's quantizations from their headers, as herd plan rates them once pulled", async () => {
    const size = (await readFile(sharedModelPath)).length;
    const candidates = await fit(["test-org/stories-GGUF"]);
    expect(candidates.map((candidate) => candidate.quantization).sort()).toEqual(["F16", "F32"]);
    const candidate = candidates.find((found) => found.quantization === "F32");
    expect(candidate).toMatchObject({
      name: "stories-F32",
      origin: "hub",
      ref: "test-org/stories-GGUF:F32",
      quantization: "F32",
      sizeBytes: size,
      fits: true,
    });
    // Only the headers were read (in node-llama-cpp's 4 MiB steps): not the larger file's weights.
    expect(hub.served("test-org/stories-GGUF", "stories260K-F16.gguf").bytes).toBeLessThan(zeros.length / 4);

    const pulled = await a.cli(["pull", "test-org/stories-GGUF:F32"]);
    expect(pulled.code, pulled.stderr).toBe(0);
    const planned = await plan(["stories-F32"]);
    const nodeNames = await names();
    expect(candidate!.head).toBe(nodeNames.get(planned.head));
    expect(candidate!.nodes).toEqual(planned.shards.map((shard) => nodeNames.get(shard.node)));
    expect(candidate!.predictedDecodeTokensPerSecond!).toBeCloseTo(
      planned.predicted.decodeTokensPerSecond,
      -1,
    );

    const table = await a.cli(["models", "fit", "test-org/stories-GGUF:Q4_K_M"]);
    expect(table.stdout).toBe("no models (import or pull one first)\n");
    const missing = await a.cli(["models", "fit", "nothing-like-this"]);
    expect(missing.stderr).toContain("model 'nothing-like-this' does not exist");
  });
});
