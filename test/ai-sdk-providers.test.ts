import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { ChatOpenAI } from "@langchain/openai";
import { generateText, type LanguageModel, streamText } from "ai";
import { createOllama } from "ollama-ai-provider-v2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HerdProcess, sharedModelPath, stopAllHerdProcesses } from "./support/herd-process.js";

/**
 * The Vercel AI SDK's providers other than the Responses default and Anthropic's (those are in
 * responses-api and anthropic-clients), and LangChain's ChatOpenAI: each as its documentation sets
 * it up, changed in nothing but the base URL.
 */
describe("the Vercel AI SDK's chat, OpenAI-compatible and Ollama providers, and LangChain, against one node", () => {
  let node: HerdProcess;

  beforeAll(async () => {
    node = await HerdProcess.start();
    await node.cliEach([
      ["models", "import", sharedModelPath],
      ["load", "stories260K", "--parallel", "2", "--ctx", "1024"],
    ]);
  });
  afterAll(stopAllHerdProcesses);

  const providers: [string, () => LanguageModel][] = [
    [
      "@ai-sdk/openai .chat",
      () => createOpenAI({ baseURL: `${node.url}/v1`, apiKey: "unused" }).chat("stories260K"),
    ],
    [
      "@ai-sdk/openai-compatible",
      () =>
        createOpenAICompatible({ name: "herd", baseURL: `${node.url}/v1`, includeUsage: true }).chatModel(
          "stories260K",
        ),
    ],
    ["ollama-ai-provider-v2", () => createOllama({ baseURL: `${node.url}/api` })("stories260K")],
  ];

  it.each(providers)(
    "%s: generates and streams the same greedy text, with its finish reason and usage",
    async (_, model) => {
      const request = { prompt: "Once upon a time", maxOutputTokens: 12, temperature: 0, maxRetries: 0 };
      const generated = await generateText({ model: model(), ...request });
      expect(generated.text.length).toBeGreaterThan(0);
      expect(generated.finishReason).toBe("length");
      expect(generated.usage.outputTokens).toBe(12);
      expect(generated.usage.inputTokens).toBeGreaterThan(0);
      const streamed = streamText({ model: model(), ...request });
      expect(await streamed.text).toBe(generated.text);
      expect(await streamed.finishReason).toBe("length");
    },
  );

  it("@ai-sdk/openai .chat: an unknown model is the SDK's own error, with herd's message", async () => {
    const failed = generateText({
      model: createOpenAI({ baseURL: `${node.url}/v1`, apiKey: "unused" }).chat("no-such-model"),
      prompt: "hi",
      maxRetries: 0,
    });
    await expect(failed).rejects.toMatchObject({
      statusCode: 404,
      message: expect.stringContaining("no-such-model"),
    });
  });

  it("LangChain's ChatOpenAI: invoke and stream agree, on chat completions and on the Responses API", async () => {
    for (const useResponsesApi of [false, true]) {
      const chat = new ChatOpenAI({
        model: "stories260K",
        apiKey: "unused",
        configuration: { baseURL: `${node.url}/v1` },
        temperature: 0,
        maxTokens: 12,
        maxRetries: 0,
        useResponsesApi,
      });
      const reply = await chat.invoke("Once upon a time");
      expect(reply.text.length, `useResponsesApi ${useResponsesApi}`).toBeGreaterThan(0);
      expect(reply.usage_metadata?.output_tokens).toBe(12);
      let streamed = "";
      for await (const chunk of await chat.stream("Once upon a time")) streamed += chunk.text;
      expect(streamed, `useResponsesApi ${useResponsesApi}`).toBe(reply.text);
    }
  });
});
