import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HerdProcess, stopAllHerdProcesses } from "./support/herd-process.js";

describe("synthetic models", () => {
  let node: HerdProcess;

  beforeAll(async () => {
    node = await HerdProcess.start();
  });
  afterAll(stopAllHerdProcesses);

  it.each([
    ["f16", "syn-f16"],
    ["q8_0", "syn-q8"],
  ])("writes a 4-layer, 256-wide %s model that loads and answers", async (type, name) => {
    const synth = await node.cli([
      "models",
      "synth",
      "--name",
      name,
      "--layers",
      "4",
      "--embedding",
      "256",
      "--type",
      type,
    ]);
    expect(synth.code, synth.stderr).toBe(0);
    expect(synth.stdout).toContain(`wrote ${name}`);

    const models = await node.client.models();
    const profile = models.find((model) => model.name === name)!;
    expect(profile).toMatchObject({
      architecture: "llama",
      layerCount: 4,
      embeddingLength: 256,
      storage: "written",
    });
    expect(profile.fileType).toBe(type.toUpperCase());

    const loaded = await node.cli(["load", name, "--ctx", "1024", "--parallel", "1"]);
    expect(loaded.code, `${loaded.stdout}\n${loaded.stderr}`).toBe(0);
    const response = await fetch(`${node.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({
        model: name,
        messages: [{ role: "user", content: "Hello" }],
        max_tokens: 8,
        temperature: 0,
      }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      choices: Array<{ message: { content: string } }>;
      usage: { completion_tokens: number };
    };
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
    await node.cli(["unload", name]);
  });

  it("rejects an impossible shape before writing anything", async () => {
    const synth = await node.cli(["models", "synth", "--name", "bad", "--embedding", "250", "--heads", "3"]);
    expect(synth.code).toBe(1);
    expect(synth.stderr).toMatch(/herd: .*(head|embedding)/i);
    expect((await node.client.models()).map((model) => model.name)).not.toContain("bad");
  });
});
