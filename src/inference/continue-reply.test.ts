import { once } from "node:events";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { continuationPlan } from "./continuation-request.js";
import { continuedReply, type FailoverSettings } from "./continue-reply.js";
import type { DispatchOptions } from "./dispatch.js";

/** A text completion chunk as llama-server streams it with `n_probs: 1, post_sampling_probs: true`. */
const engineChunk = (id: number, text: string) =>
  `data: ${JSON.stringify({
    choices: [
      {
        text,
        index: 0,
        logprobs: {
          content: [
            {
              id,
              token: text,
              bytes: [...Buffer.from(text)],
              prob: 1,
              top_probs: [{ id, token: text, bytes: [...Buffer.from(text)], prob: 1 }],
            },
          ],
        },
        finish_reason: null,
      },
    ],
    created: 1,
    model: "m",
    object: "text_completion",
    id: "cmpl-1",
  })}\n\n`;

/** The same chunk as the client sees it: no ids. */
const clientChunk = (text: string) =>
  `data: ${JSON.stringify({
    choices: [{ text, index: 0, logprobs: null, finish_reason: null }],
    created: 1,
    model: "m",
    object: "text_completion",
    id: "cmpl-1",
  })}\n\n`;

const failover: FailoverSettings = { timeoutMs: 1000, keepAlive: ": keep-alive\n\n" };

/** A reply over an engine stream that never fails: nothing but the options it reads then is needed. */
function reply(engine: Readable) {
  const options = {
    model: "m",
    path: "/v1/completions",
    signal: new AbortController().signal,
  } as DispatchOptions;
  const plan = continuationPlan("/v1/completions", { model: "m", prompt: "p", stream: true })!;
  const first = { status: 200, headers: { "content-type": "text/event-stream" }, body: engine };
  return continuedReply(options, failover, plan, first, { failovers: 0, requestId: undefined });
}

const words = Array.from({ length: 400 }, (_, index) =>
  index % 10 === 3 ? ` café${index}` : ` word${index}`,
);

describe("continuedReply", () => {
  it("passes each engine chunk on without its ids, split or joined however the engine's bytes came", async () => {
    const sent = Buffer.from(
      `${words.map((word, index) => engineChunk(index, word)).join("")}data: [DONE]\n\n`,
    );
    // Pieces of 7 bytes: events cut in the middle, and a multi-byte character or two split too.
    const pieces = Array.from({ length: Math.ceil(sent.length / 7) }, (_, index) =>
      sent.subarray(index * 7, index * 7 + 7),
    );
    let text = "";
    for await (const chunk of reply(Readable.from(pieces, { objectMode: false }))) text += chunk;
    expect(text).toBe(`${words.map(clientChunk).join("")}data: [DONE]\n\n`);
  });

  it("pauses the engine's stream while the client reads nothing, and goes on when it reads again", async () => {
    let produced = 0;
    const engine = new Readable({
      read() {
        produced += 1;
        if (produced <= words.length) this.push(engineChunk(produced - 1, words[produced - 1]!));
        else if (produced === words.length + 1) this.push("data: [DONE]\n\n");
        else this.push(null);
      },
    });
    const output = reply(engine);
    output.pause();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Held back by the reply's buffer (16 KiB), far short of the 400 chunks the engine would send.
    expect(produced).toBeLessThan(words.length / 2);
    let text = "";
    output.on("data", (chunk) => {
      text += chunk;
    });
    output.resume();
    await once(output, "end");
    expect(text).toBe(`${words.map(clientChunk).join("")}data: [DONE]\n\n`);
  });

  it("hands on the tokens one read of the engine brought as one chunk", async () => {
    // As Node's HTTP client does with one read of the connection: a push per chunk of the
    // engine's chunked answer, each token its own, all in one turn.
    const engine = new Readable({ read() {} });
    const output = reply(engine);
    const chunks: string[] = [];
    output.on("data", (chunk: Buffer) => chunks.push(chunk.toString()));
    for (const [index, word] of words.slice(0, 20).entries()) engine.push(engineChunk(index, word));
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (const [index, word] of words.slice(20, 30).entries()) engine.push(engineChunk(20 + index, word));
    engine.push("data: [DONE]\n\n");
    engine.push(null);
    await once(output, "end");
    expect(chunks).toEqual([
      words.slice(0, 20).map(clientChunk).join(""),
      `${words.slice(20, 30).map(clientChunk).join("")}data: [DONE]\n\n`,
    ]);
  });

  it("stops reading the engine when the client goes away", async () => {
    const engine = new Readable({ read() {} });
    engine.push(engineChunk(0, " first"));
    const output = reply(engine);
    const [chunk] = (await once(output, "data")) as [Buffer];
    expect(chunk.toString()).toBe(clientChunk(" first"));
    output.destroy();
    await once(engine, "close");
    expect(engine.destroyed).toBe(true);
  });
});
