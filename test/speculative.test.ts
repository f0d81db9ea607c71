import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HerdProcess, sharedModelPath, stopAllHerdProcesses } from "./support/herd-process.js";

const prompt = "The cat sat on the mat. The cat sat on the mat.";

async function complete(node: HerdProcess): Promise<{ text: string; drafted: number; accepted: number }> {
  const response = await fetch(`${node.url}/v1/completions`, {
    method: "POST",
    body: JSON.stringify({ model: "target", prompt, max_tokens: 48, temperature: 0, ignore_eos: true }),
  });
  const body = (await response.json()) as {
    choices: Array<{ text: string }>;
    timings?: { draft_n?: number; draft_n_accepted?: number };
  };
  expect(response.status, JSON.stringify(body)).toBe(200);
  return {
    text: body.choices[0]!.text,
    drafted: body.timings?.draft_n ?? 0,
    accepted: body.timings?.draft_n_accepted ?? 0,
  };
}

describe("speculative decoding with a draft model", () => {
  let node: HerdProcess;

  beforeAll(async () => {
    node = await HerdProcess.start();
    // One seed and width at two depths, blocks scaled down so that the shallow one predicts like the
    // deep one; a third, far smaller model of the same vocabulary; and stories260K, whose differs.
    const synth = (name: string, layers: string, embedding: string) =>
      node.cli([
        "models",
        "synth",
        "--name",
        name,
        "--layers",
        layers,
        "--embedding",
        embedding,
        "--heads",
        "4",
        "--block-scale",
        "0.0001",
      ]);
    for (const result of await Promise.all([
      synth("target", "4", "256"),
      synth("draft", "1", "256"),
      synth("tiny", "1", "64"),
    ]))
      expect(result.code, result.stderr).toBe(0);
    expect((await node.cli(["models", "import", sharedModelPath])).code).toBe(0);
  });
  afterAll(stopAllHerdProcesses);

  it("gives the same greedy text with and without the draft, and the draft's tokens are used", async () => {
    expect((await node.cli(["load", "target", "--parallel", "1"])).code).toBe(0);
    const plain = await complete(node);
    expect(plain.drafted).toBe(0);
    expect((await node.cli(["unload", "target"])).code).toBe(0);

    const loaded = await node.cli([
      "load",
      "target",
      "--parallel",
      "1",
      "--draft",
      "draft",
      "--draft-max",
      "6",
    ]);
    expect(loaded.code, loaded.stderr).toBe(0);
    const [instance] = await node.client.instances();
    expect(instance!.draft).toBe("draft");
    const speculative = await complete(node);
    expect(speculative.text).toBe(plain.text);
    expect(speculative.drafted).toBeGreaterThan(0);
    expect(speculative.accepted).toBeGreaterThan(0);
    expect((await node.cli(["unload", "target"])).code).toBe(0);
  });

  it("suggests a compatible small local model in herd plan", async () => {
    const plan = await node.cli(["plan", "target"]);
    expect(plan.code, plan.stderr).toBe(0);
    // draft is too close in size to pay off; stories260K has another vocabulary.
    expect(plan.stdout).toMatch(/speculative decoding: tiny could draft \(same vocabulary as target/);
  });

  it("refuses a draft of another vocabulary before starting anything", async () => {
    const refused = await node.cli(["load", "target", "--draft", "stories260K"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/'stories260K' cannot draft for 'target': their vocabularies differ/);
    expect((await node.client.cluster()).desired.instances).toEqual([]);
  });
});
