import { Ollama } from "ollama";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HerdProcess } from "./support/herd-process.js";
import { stopAllHerdProcesses } from "./support/herd-process.js";
import { startProtocolNode } from "./support/protocol-node.js";

/**
 * Ollama's `/api/generate` as Ollama runs it, through the official `ollama` client: a model without
 * a chat template (stories260K) completes the prompt as written, `suffix` fills in the middle on a
 * model with FIM tokens and is refused on one without (and so does OpenAI's completions `suffix`).
 */
describe("Ollama generate, as Ollama runs it", () => {
  let node: HerdProcess;
  let ollama: Ollama;
  let openai: OpenAI;
  const prompt = "Once upon a time";
  const greedy = { temperature: 0, num_predict: 24 };

  beforeAll(async () => {
    node = await startProtocolNode();
    // A small model with starcoder's tokenizer, whose FIM tokens llama-server's infill needs.
    const shape = [
      "--vocab",
      "starcoder",
      "--layers",
      "1",
      "--embedding",
      "32",
      "--heads",
      "1",
      "--ff",
      "64",
    ];
    await node.cliEach([
      ["models", "synth", "--name", "fim", ...shape],
      ["load", "fim", "--ctx", "1024", "--parallel", "1"],
    ]);
    ollama = new Ollama({ host: node.url });
    openai = new OpenAI({ baseURL: `${node.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  afterAll(stopAllHerdProcesses);

  /** The engine's greedy completion of `text`, through the OpenAI completions API. */
  const completion = async (text: string) =>
    (await openai.completions.create({ model: "stories260K", prompt: text, temperature: 0, max_tokens: 24 }))
      .choices[0]!.text;

  it("completes a base model's prompt as written, streamed and not, as /v1/completions does", async () => {
    const expected = await completion(prompt);
    expect(expected.length).toBeGreaterThan(0);
    const whole = await ollama.generate({ model: "stories260K", prompt, options: greedy });
    expect(whole.response).toBe(expected);
    expect(whole.eval_count).toBe(24);
    let streamed = "";
    for await (const part of await ollama.generate({
      model: "stories260K",
      prompt,
      options: greedy,
      stream: true,
    })) {
      streamed += part.response;
    }
    expect(streamed).toBe(expected);
    // Ollama's default template is {{ .Prompt }}: a system prompt does not reach a base model.
    const withSystem = await ollama.generate({
      model: "stories260K",
      prompt,
      system: "Be terse.",
      options: greedy,
    });
    expect(withSystem.response).toBe(expected);
  });

  it("renders a request's own template, and refuses raw with it as Ollama does", async () => {
    const template = "{{ if .System }}{{ .System }} {{ end }}{{ .Prompt }}";
    const rendered = await ollama.generate({
      model: "stories260K",
      prompt: "upon a time",
      system: "Once",
      template,
      options: greedy,
    });
    expect(rendered.response).toBe(await completion("Once upon a time"));
    await expect(
      ollama.generate({ model: "stories260K", prompt, raw: true, template, options: greedy }),
    ).rejects.toMatchObject({
      name: "ResponseError",
      status_code: 400,
      error: expect.stringMatching(/raw mode/),
    });
  });

  it("shows no template for a base model, the chat template of one that has it, and who can insert", async () => {
    const base = await ollama.show({ model: "stories260K" });
    expect(base.template).toBe("");
    expect(base.capabilities).toEqual(["completion"]);
    expect((await ollama.show({ model: "tools" })).template).toMatch(/\{%.*messages/s);
    // Ollama's capability for `suffix`, which editor plugins check before sending one.
    expect((await ollama.show({ model: "fim" })).capabilities).toEqual(["completion", "insert"]);
  });

  it("refuses a suffix on a model without FIM tokens with a 400 that names them", async () => {
    const refused = ollama.generate({ model: "stories260K", prompt: "def f(", suffix: "    return x" });
    await expect(refused).rejects.toMatchObject({ name: "ResponseError", status_code: 400 });
    await expect(refused).rejects.toThrow(/fill in the middle.*no FIM prefix, suffix and middle tokens/);
  });

  it("fills in the middle through the engine's infill on a model with FIM tokens", async () => {
    const request = {
      model: "fim",
      prompt: "def add(a, b):\n    return ",
      suffix: "\n\nprint(add(1, 2))\n",
      options: { temperature: 0, num_predict: 6 },
    };
    const whole = await ollama.generate(request);
    expect(whole.done_reason).toBe("length");
    expect(whole.eval_count).toBe(6);
    // The FIM tokens and the suffix were read as well as the prompt.
    const plain = await ollama.generate({ ...request, suffix: undefined, raw: true });
    expect(whole.prompt_eval_count).toBeGreaterThan(plain.prompt_eval_count + 3);
    let streamed = "";
    for await (const part of await ollama.generate({ ...request, stream: true })) streamed += part.response;
    expect(streamed).toBe(whole.response);
  });

  it("fills in the middle for OpenAI's completions with a suffix, by the same rule", async () => {
    const request = {
      model: "fim",
      prompt: "def add(a, b):\n    return ",
      suffix: "\n\nprint(add(1, 2))\n",
      temperature: 0,
      max_tokens: 6,
    };
    const whole = await openai.completions.create(request);
    expect(whole.object).toBe("text_completion");
    expect(whole.choices[0]!.finish_reason).toBe("length");
    expect(whole.usage!.completion_tokens).toBe(6);
    const ollamaAnswer = await ollama.generate({
      model: "fim",
      prompt: request.prompt,
      suffix: request.suffix,
      options: { temperature: 0, num_predict: 6 },
    });
    expect(whole.choices[0]!.text).toBe(ollamaAnswer.response);
    let streamed = "";
    for await (const chunk of await openai.completions.create({ ...request, stream: true })) {
      streamed += chunk.choices[0]?.text ?? "";
    }
    expect(streamed).toBe(whole.choices[0]!.text);
    const refused = openai.completions.create({ ...request, model: "stories260K" });
    await expect(refused).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(refused).rejects.toMatchObject({
      param: "suffix",
      message: expect.stringMatching(/no FIM/),
    });
  });

  it("reports an Ollama version that Codex CLI's Ollama mode accepts (0.13.4 or newer)", async () => {
    const { version } = await ollama.version();
    const [major, minor, patch] = version.split(".").map(Number) as [number, number, number];
    expect(major * 1e6 + minor * 1e3 + patch).toBeGreaterThanOrEqual(13_004);
  });
});
