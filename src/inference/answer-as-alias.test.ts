import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { answerAsAlias } from "./answer-as-alias.js";

async function readAll(chunks: string[]): Promise<{ text: string; header: string | undefined }> {
  const response = answerAsAlias(
    {
      status: 200,
      headers: { "content-type": "text/event-stream" },
      body: Readable.from(chunks.map((chunk) => Buffer.from(chunk))),
    },
    "coder",
    "small-8b",
  );
  let text = "";
  for await (const chunk of response.body) text += chunk;
  return { text, header: response.headers["x-herd-model"] };
}

describe("answerAsAlias", () => {
  it("renames the model in every SSE event, even one split across chunks, and names the entry in a header", async () => {
    const { text, header } = await readAll([
      'data: {"id":"1","model":"sma',
      'll-8b","choices":[{"delta":{"content":"say \\"model\\":\\"x\\""}}]}\n\ndata: {"model":"small-8b"}\n\n',
      "data: [DONE]\n\n",
    ]);
    expect(header).toBe("small-8b");
    expect(text).toBe(
      'data: {"id":"1","model":"coder","choices":[{"delta":{"content":"say \\"model\\":\\"x\\""}}]}\n\ndata: {"model":"coder"}\n\ndata: [DONE]\n\n',
    );
  });

  it("renames a whole answer without a trailing newline", async () => {
    const { text } = await readAll([
      '{"object":"chat.completion","model":"gpt-4o-mini-2024-07-18","choices":[]}',
    ]);
    expect(JSON.parse(text)).toEqual({ object: "chat.completion", model: "coder", choices: [] });
  });
});
