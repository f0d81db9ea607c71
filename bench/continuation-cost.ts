/**
 * What carrying a reply's token ids costs per token on the node that holds the client, without an
 * engine: realistic llama-server chat chunks (with the `logprobs` that `n_probs: 1` adds) go through
 * the continuation layer's reading and cleaning (`ReplySoFar.observe`, as `dispatchContinuing` does),
 * against the same chunks passed on untouched.
 *
 *   node --import tsx bench/continuation-cost.ts
 */
import { Readable } from "node:stream";
import { ReplySoFar } from "../src/inference/reply-so-far.js";

const tokens = 200_000;
const words = ["Once", " upon", " a", " time", ",", " there", " was", " a", " little", " girl"];
const chunk = (index: number, withIds: boolean) => {
  const text = words[index % words.length]!;
  const bytes = [...Buffer.from(text)];
  const choice: Record<string, unknown> = { finish_reason: null, index: 0, delta: { content: text } };
  if (withIds) {
    const top = { id: 400 + (index % 10), token: text, bytes, prob: 1.0 };
    choice.logprobs = { content: [{ ...top, top_probs: [top] }] };
  }
  const body = {
    choices: [choice],
    created: 1796341819,
    id: "chatcmpl-bgSAsrTlD91EKyk1GQmDPbWBJn5ctM6E",
    model: "/models/stories260K-f32.gguf",
    system_fingerprint: "b1-de3ff81",
    object: "chat.completion.chunk",
  };
  return Buffer.from(`data: ${JSON.stringify(body)}\n\n`);
};

async function drain(readable: Readable): Promise<void> {
  for await (const _ of readable) {
    // Only the time to hand each chunk on is measured.
  }
}

async function* continued(chunks: Buffer[]): AsyncGenerator<Buffer> {
  const reply = new ReplySoFar({ stopStrings: false });
  for (const buffer of chunks) {
    const events = buffer.toString("utf8").split("\n\n");
    events.pop();
    let out = "";
    for (const event of events) out += `${reply.observe(event)}\n\n`;
    yield Buffer.from(out);
  }
}

async function measure(label: string, run: () => Promise<void>): Promise<number> {
  await run();
  const started = process.hrtime.bigint();
  await run();
  const perToken = Number(process.hrtime.bigint() - started) / 1000 / tokens;
  console.log(`${label}: ${perToken.toFixed(2)} µs per token`);
  return perToken;
}

const plain = Array.from({ length: tokens }, (_, index) => chunk(index, false));
const withIds = Array.from({ length: tokens }, (_, index) => chunk(index, true));
const base = await measure("chunks passed on as they are", () => drain(Readable.from(plain)));
const cost = await measure("chunks read, ids kept and taken out", () =>
  drain(Readable.from(continued(withIds), { objectMode: false })),
);
console.log(`continuation support: ${(cost - base).toFixed(2)} µs more per token`);
