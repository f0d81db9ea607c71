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

  it("writes a model with a long training context that takes a coding agent's system prompt", async () => {
    // Small enough that 13K tokens of prompt take seconds on two cores; llama-bpe counts about as
    // many tokens per text as the hosted models' tokenizers, which agents' prompts are sized by.
    const synth = await node.cli([
      ...["models", "synth", "--name", "long", "--layers", "1", "--embedding", "32", "--heads", "1"],
      ...["--ff", "64", "--context", "32768", "--vocab", "llama-bpe"],
    ]);
    expect(synth.code, synth.stderr).toBe(0);
    const profile = (await node.client.models()).find((model) => model.name === "long")!;
    expect(profile.trainContextLength).toBe(32_768);
    expect(profile.vocabulary).toMatchObject({ type: "gpt2", size: 128_256 });
    const loaded = await node.cli(["load", "long", "--ctx", "32768", "--parallel", "1"]);
    expect(loaded.code, `${loaded.stdout}\n${loaded.stderr}`).toBe(0);

    const system = "You are a coding agent. Read files, run commands and edit code as asked. ".repeat(900);
    const ask = (content: string) =>
      fetch(`${node.url}/v1/chat/completions`, {
        method: "POST",
        body: JSON.stringify({
          model: "long",
          messages: [
            { role: "system", content },
            { role: "user", content: "Hello" },
          ],
          max_tokens: 4,
        }),
      });
    const answered = await ask(system);
    expect(answered.status).toBe(200);
    const { usage } = (await answered.json()) as { usage: { prompt_tokens: number } };
    expect(usage.prompt_tokens).toBeGreaterThan(13_000);
    expect(usage.prompt_tokens).toBeLessThan(32_768);

    // Past the training context the engine refuses, whatever the load asked for.
    const tooLong = await ask(system.repeat(3));
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toMatchObject({
      error: { code: "context_length_exceeded", n_ctx: 32_768 },
    });
    await node.cli(["unload", "long"]);
  });

  it("rejects an impossible shape before writing anything", async () => {
    const synth = await node.cli(["models", "synth", "--name", "bad", "--embedding", "250", "--heads", "3"]);
    expect(synth.code).toBe(1);
    expect(synth.stderr).toMatch(/herd: .*(head|embedding)/i);
    expect((await node.client.models()).map((model) => model.name)).not.toContain("bad");
  });
});
