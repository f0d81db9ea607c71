import { describe, expect, it } from "vitest";
import { ReplySoFar } from "./reply-so-far.js";

/** A token as llama-server reports it with `n_probs: 1, post_sampling_probs: true`. */
const token = (id: number, sent: string, own = sent, topId = id) => ({
  id,
  token: sent,
  bytes: [...Buffer.from(sent)],
  prob: 1,
  top_probs: [{ id: topId, token: own, bytes: [...Buffer.from(own)], prob: 1 }],
});

const chatChunk = (content: string | null, tokens: object[] = [], role = false) =>
  `data: ${JSON.stringify({
    choices: [
      {
        finish_reason: null,
        index: 0,
        delta: role ? { role: "assistant", content } : { content },
        ...(tokens.length ? { logprobs: { content: tokens } } : {}),
      },
    ],
    created: 1,
    id: "chatcmpl-1",
    model: "m",
    system_fingerprint: "b1",
    object: "chat.completion.chunk",
  })}`;

const completionChunk = (text: string, tokens: object[]) =>
  `data: ${JSON.stringify({
    choices: [{ text, index: 0, logprobs: { content: tokens }, finish_reason: null }],
    created: 1,
    model: "m",
    object: "text_completion",
    id: "cmpl-1",
  })}`;

describe("ReplySoFar", () => {
  it("takes the ids out of chat chunks, leaving the chunk the client would have had", () => {
    const reply = new ReplySoFar({ stopStrings: false });
    expect(reply.observe(chatChunk(null, [], true))).toBe(chatChunk(null, [], true));
    expect(reply.observe(chatChunk("Once", [token(10, "Once")]))).toBe(chatChunk("Once"));
    expect(reply.observe(chatChunk(" upon", [token(11, " upon")]))).toBe(chatChunk(" upon"));
    expect(reply.resumePoint()).toEqual({ tokens: [10, 11], textAfter: "" });
    expect(reply.shape).toEqual({ id: "chatcmpl-1", created: 1, model: "m", systemFingerprint: "b1" });
    expect(reply.complete).toBe(false);
    expect(reply.observe("data: [DONE]")).toBe("data: [DONE]");
    expect(reply.complete).toBe(true);
  });

  it("gives a text completion chunk back its null logprobs", () => {
    const reply = new ReplySoFar({ stopStrings: false, textCompletion: true });
    const seen = reply.observe(completionChunk(" a", [token(5, " a")]));
    expect(JSON.parse(seen.slice(6)).choices[0]).toEqual({
      text: " a",
      index: 0,
      logprobs: null,
      finish_reason: null,
    });
  });

  // Rows: what the engine sent, in order; where a continuation resumes (ids, and the text sent after them).
  const rows: Array<[string, boolean, Array<[string, object[]]>, { tokens: number[]; textAfter: string }]> = [
    [
      "a token whose text was held back (a possible stop string) resumes before it",
      true,
      [
        ["Once", [token(1, "Once")]],
        // " up" held back with token 2 (no chunk), then sent with token 3's text.
        [" upon", [token(3, " upon", "on")]],
        [" a", [token(4, " a")]],
      ],
      { tokens: [1], textAfter: " upon a" },
    ],
    [
      "the chat parser's held-back space rejoins the tokens at the next chunk",
      false,
      [
        ["Once", [token(1, "Once ")]],
        [" upon", [token(2, "upon")]],
        [" a", [token(3, " a")]],
      ],
      { tokens: [1, 2, 3], textAfter: "" },
    ],
    [
      "a sampled token (not the top candidate) with ASCII text and no stop strings counts",
      false,
      [
        ["Once", [token(1, "Once")]],
        [" upon", [token(2, " upon", " in", 9)]],
      ],
      { tokens: [1, 2], textAfter: "" },
    ],
    [
      "a sampled token whose text may hold an earlier one's (stop strings) does not",
      true,
      [
        ["Once", [token(1, "Once")]],
        [" upon", [token(2, " upon", " in", 9)]],
      ],
      { tokens: [1], textAfter: " upon" },
    ],
  ];
  it.each(rows)("%s", (_, stopStrings, chunks, expected) => {
    const reply = new ReplySoFar({ stopStrings });
    for (const [content, tokens] of chunks) reply.observe(chatChunk(content, tokens));
    expect(reply.resumePoint()).toEqual(expected);
  });

  it("cuts the ids out where the chunk's own text holds quotes, braces and escapes, wherever the key stands", () => {
    const reply = new ReplySoFar({ stopStrings: false });
    reply.observe(chatChunk(null, [], true));
    const tricky = ['{"a":"}"}', ' \\"]', "\u00e9}"];
    for (const [index, text] of tricky.entries()) {
      expect(reply.observe(chatChunk(text, [token(index, text)]))).toBe(chatChunk(text));
    }
    // llama-server writes the key before finish_reason; a chunk read back is the same either way.
    const first = `data: ${JSON.stringify({
      choices: [
        { index: 0, delta: { content: "!" }, logprobs: { content: [token(7, "!")] }, finish_reason: null },
      ],
      object: "chat.completion.chunk",
    })}`;
    const seen = reply.observe(first);
    expect(JSON.parse(seen.slice(6))).toEqual({
      choices: [{ index: 0, delta: { content: "!" }, finish_reason: null }],
      object: "chat.completion.chunk",
    });
    expect(reply.resumePoint()).toEqual({ tokens: [0, 1, 2, 7], textAfter: "" });
  });

  it("keeps every id of a long reply, read in batches", () => {
    const reply = new ReplySoFar({ stopStrings: false });
    reply.observe(chatChunk(null, [], true));
    for (let id = 0; id < 1500; id++) reply.observe(chatChunk(" a", [token(id, " a")]));
    const { tokens, textAfter } = reply.resumePoint();
    expect(tokens).toEqual(Array.from({ length: 1500 }, (_, id) => id));
    expect(textAfter).toBe("");
  });

  it("leaves a chunk whose ids do not end as it is, and the reply not continuable", () => {
    const reply = new ReplySoFar({ stopStrings: false });
    reply.observe(chatChunk("Once", [token(1, "Once")]));
    const cut = 'data: {"choices":[{"delta":{"content":"x"},"logprobs":{"content":[{"id":2,"bytes":[120]';
    expect(reply.observe(cut)).toBe(cut);
    expect(reply.unsupported).toBe(true);
  });

  it("hides a head's engine_interrupted event and passes the engine's own errors on", () => {
    const reply = new ReplySoFar({ stopStrings: false });
    reply.observe(chatChunk("Once", [token(1, "Once")]));
    const interrupted = `data: ${JSON.stringify({ error: { message: "stopped", code: "engine_interrupted" } })}`;
    expect(reply.observe(interrupted)).toBe("");
    expect(reply.failed).toBe(false);
    const own = `data: ${JSON.stringify({ error: { message: "out of memory", type: "server_error" } })}`;
    expect(reply.observe(own)).toBe(own);
    expect(reply.failed).toBe(true);
  });

  it("marks a reply that started a tool call or reasoning as not continuable", () => {
    const reply = new ReplySoFar({ stopStrings: false });
    reply.observe(chatChunk(null, [], true));
    reply.observe(
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: { reasoning_content: "hm" } }], object: "chat.completion.chunk" })}`,
    );
    expect(reply.unsupported).toBe(true);
  });

  it("starts a continuation's count at the resume point", () => {
    const reply = new ReplySoFar({ stopStrings: true });
    reply.observe(chatChunk("Once", [token(1, "Once")]));
    reply.observe(chatChunk(" upon", [token(3, " upon", "on")]));
    reply.rewind();
    // The continuation regenerates " upon" (tokens 2 and 3), then goes on.
    reply.noteText(" up", [token(2, " up")]);
    reply.noteText("on", [token(3, "on")]);
    reply.noteText(" a", [token(4, " a")]);
    expect(reply.resumePoint()).toEqual({ tokens: [1, 2, 3, 4], textAfter: "" });
  });
});
