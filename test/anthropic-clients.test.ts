import { createAnthropic } from "@ai-sdk/anthropic";
import Anthropic from "@anthropic-ai/sdk";
import { ChatAnthropic } from "@langchain/anthropic";
import type { AIMessageChunk } from "@langchain/core/messages";
import { generateText, streamText } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HerdProcess, stopAllHerdProcesses } from "./support/herd-process.js";
import { startProtocolNode } from "./support/protocol-node.js";

const story = { role: "user" as const, content: "Once upon a time" };
const request = { model: "stories260K", max_tokens: 40, temperature: 0, messages: [story] };

/** Clients of the Anthropic Messages API, each changed in nothing but its base URL (and a key it must send). */
describe("Anthropic clients against one node", () => {
  let node: HerdProcess;
  let anthropic: Anthropic;
  /** A word the model writes, greedily, in its answer to `request`, and the text before it. */
  let stopWord: string;
  let textBeforeStop: string;

  beforeAll(async () => {
    node = await startProtocolNode();
    anthropic = new Anthropic({ baseURL: node.url, apiKey: "unused", maxRetries: 0 });
    const free = await anthropic.messages.create(request);
    const text = (free.content[0] as Anthropic.TextBlock).text;
    // The third word of the free answer: the model reaches it again under the same greedy decoding.
    stopWord = text.split(/\s+/).filter((word) => /^[a-z]{3,}$/i.test(word))[2]!;
    expect(stopWord).toBeDefined();
    textBeforeStop = text.slice(0, text.indexOf(stopWord));
  });
  afterAll(stopAllHerdProcesses);

  describe("the official SDK", () => {
    it("says which stop sequence ended the message, not streamed", async () => {
      const message = await anthropic.messages.create({ ...request, stop_sequences: ["zzzz", stopWord] });
      expect(message.stop_reason).toBe("stop_sequence");
      expect(message.stop_sequence).toBe(stopWord);
      expect((message.content[0] as Anthropic.TextBlock).text).toBe(textBeforeStop);
    });

    it("says which stop sequence ended the message, streamed", async () => {
      const stream = anthropic.messages.stream({ ...request, stop_sequences: [stopWord] });
      const deltas: Anthropic.MessageDeltaEvent[] = [];
      stream.on("streamEvent", (event) => {
        if (event.type === "message_delta") deltas.push(event);
      });
      const final = await stream.finalMessage();
      expect(deltas.map((delta) => delta.delta)).toEqual([
        { stop_reason: "stop_sequence", stop_sequence: stopWord },
      ]);
      expect(final.stop_reason).toBe("stop_sequence");
      expect(final.stop_sequence).toBe(stopWord);
    });

    it("says no stop sequence when none was met", async () => {
      const message = await anthropic.messages.create({ ...request, stop_sequences: ["zzzz"] });
      expect(message.stop_reason).toBe("max_tokens");
      expect(message.stop_sequence).toBeNull();
    });

    it("gets the prompt's token count in message_start, the same as the final usage and count_tokens", async () => {
      const events = await anthropic.messages.create({ ...request, system: "Tell a story.", stream: true });
      let started: Anthropic.Usage | undefined;
      let final: Anthropic.MessageDeltaUsage | undefined;
      for await (const event of events) {
        if (event.type === "message_start") started = event.message.usage;
        if (event.type === "message_delta") final = event.usage;
      }
      const counted = await anthropic.messages.countTokens({
        model: request.model,
        system: "Tell a story.",
        messages: [story],
      });
      expect(started!.input_tokens).toBeGreaterThan(0);
      expect(started!.input_tokens).toBe(final!.input_tokens);
      expect(started!.input_tokens).toBe(counted.input_tokens);
      expect(final!.output_tokens).toBe(40);
    });

    it("lists models in Anthropic's shape, page by page, and gets one", async () => {
      const models: Anthropic.ModelInfo[] = [];
      for await (const model of anthropic.models.list({ limit: 2 })) models.push(model);
      expect(models.map((model) => model.id)).toEqual(["stories-embed", "stories260K", "tools"]);
      for (const model of models) {
        expect(model).toEqual({
          type: "model",
          id: model.id,
          display_name: model.id,
          created_at: expect.any(String),
        });
        expect(Date.parse(model.created_at)).toBeGreaterThan(Date.parse("2020-01-01"));
      }
      const page = await anthropic.models.list({ limit: 2 });
      expect(page.has_more).toBe(true);
      expect(page.last_id).toBe("stories260K");
      expect(await anthropic.models.retrieve("stories260K")).toEqual(models[1]);
      await expect(anthropic.models.retrieve("claude-none")).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    });

    it("serves a request shaped like Claude Code's through the beta path", async () => {
      const claudeCodeLike = {
        model: "stories260K",
        max_tokens: 8,
        stream: true,
        betas: ["claude-code-20250219", "interleaved-thinking-2025-05-14", "context-management-2025-06-27"],
        metadata: { user_id: '{"device_id":"d","session_id":"s"}' },
        thinking: { type: "adaptive" },
        context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] },
        output_config: { effort: "high" },
        system: [
          {
            type: "text",
            text: "x-anthropic-billing-header: cc_version=2.1.328.593; cc_entrypoint=sdk-cli;",
          },
          { type: "text", text: "You tell stories.", cache_control: { type: "ephemeral" } },
        ],
        tools: [
          {
            name: "Read",
            description: "Read a file",
            input_schema: { type: "object", properties: { file_path: { type: "string" } } },
            cache_control: { type: "ephemeral" },
          },
          { name: "Later", description: "", input_schema: { type: "object" }, defer_loading: true },
          { type: "web_search_20250305", name: "web_search", max_uses: 3 },
          { type: "bash_20250124", name: "bash" },
        ],
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "<system-reminder>Be brief.</system-reminder>" },
              { type: "text", text: "Once upon a time", cache_control: { type: "ephemeral" } },
            ],
          },
          { role: "system", content: [{ type: "text", text: "The working directory is /tmp." }] },
          {
            role: "assistant",
            content: [
              { type: "thinking", thinking: "A story.", signature: "c2lnbmF0dXJl" },
              { type: "redacted_thinking", data: "c2VjcmV0" },
              { type: "server_tool_use", id: "srvtoolu_1", name: "web_search", input: { query: "stories" } },
              { type: "web_search_tool_result", tool_use_id: "srvtoolu_1", content: [] },
              { type: "text", text: "there was a cat." },
            ],
          },
          {
            role: "user",
            content: [
              { type: "document", source: { type: "text", media_type: "text/plain", data: "A dog." } },
              {
                type: "search_result",
                source: "https://example.com",
                title: "Dogs",
                content: [{ type: "text", text: "Dogs bark." }],
              },
              { type: "text", text: "Go on." },
            ],
          },
        ],
      } as unknown as Anthropic.Beta.MessageCreateParamsStreaming;
      const stream = anthropic.beta.messages.stream(claudeCodeLike);
      const final = await stream.finalMessage();
      expect(final.stop_reason).toBe("max_tokens");
      expect(final.usage.input_tokens).toBeGreaterThan(20);
      const { stream: _stream, max_tokens: _max, ...counted } = claudeCodeLike;
      const count = await anthropic.beta.messages.countTokens(
        counted as Anthropic.Beta.MessageCountTokensParams,
      );
      expect(count.input_tokens).toBe(final.usage.input_tokens);
    });

    it("still refuses what is malformed, in Anthropic's shape", async () => {
      const noMaxTokens = anthropic.messages.create({ model: "stories260K", messages: [story] } as never);
      await expect(noMaxTokens).rejects.toBeInstanceOf(Anthropic.BadRequestError);
      await expect(noMaxTokens).rejects.toMatchObject({
        error: {
          type: "error",
          error: { type: "invalid_request_error", message: expect.stringContaining("max_tokens") },
        },
      });
      const brokenBlock = anthropic.messages.create({
        ...request,
        messages: [{ role: "user", content: [{ type: "text" }] }],
      } as never);
      await expect(brokenBlock).rejects.toMatchObject({
        status: 400,
        error: { error: { message: expect.stringContaining("messages.0.content.0.text") } },
      });
    });
  });

  it("LangChain's ChatAnthropic reports the prompt's tokens when it streams", async () => {
    const model = new ChatAnthropic({
      model: "stories260K",
      anthropicApiUrl: node.url,
      apiKey: "unused",
      maxTokens: 12,
      temperature: 0,
      maxRetries: 0,
    });
    let whole: AIMessageChunk | undefined;
    for await (const chunk of await model.stream("Once upon a time"))
      whole = whole ? whole.concat(chunk) : chunk;
    const counted = await anthropic.messages.countTokens({ model: "stories260K", messages: [story] });
    expect(whole!.usage_metadata).toMatchObject({ input_tokens: counted.input_tokens, output_tokens: 12 });
    expect(counted.input_tokens).toBeGreaterThan(0);
  });

  describe("the Vercel AI SDK's Anthropic provider", () => {
    const provider = () => createAnthropic({ baseURL: `${node.url}/v1`, apiKey: "unused" });

    it("generates text, with usage and the finish reason", async () => {
      const result = await generateText({
        model: provider()("stories260K"),
        prompt: "Once upon a time",
        maxOutputTokens: 12,
        temperature: 0,
      });
      expect(result.text.length).toBeGreaterThan(0);
      expect(result.finishReason).toBe("length");
      expect(result.usage.inputTokens).toBeGreaterThan(0);
      expect(result.usage.outputTokens).toBe(12);
    });

    it("streams the same text, and stops at a stop sequence", async () => {
      const whole = await generateText({
        model: provider()("stories260K"),
        prompt: "Once upon a time",
        maxOutputTokens: 12,
        temperature: 0,
      });
      const streamed = streamText({
        model: provider()("stories260K"),
        prompt: "Once upon a time",
        maxOutputTokens: 12,
        temperature: 0,
      });
      expect(await streamed.text).toBe(whole.text);
      expect((await streamed.usage).inputTokens).toBe(whole.usage.inputTokens);
      const stopped = await generateText({
        model: provider()("stories260K"),
        messages: [story],
        maxOutputTokens: 40,
        temperature: 0,
        stopSequences: [stopWord],
      });
      expect(stopped.finishReason).toBe("stop");
      expect(stopped.text).toBe(textBeforeStop);
      expect(stopped.providerMetadata?.anthropic?.stopSequence).toBe(stopWord);
    });
  });
});
