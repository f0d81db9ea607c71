/**
 * What the protocol adapters cost: the same streaming chat through herd's OpenAI passthrough, its
 * Anthropic adapter (`/v1/messages`) and its Ollama adapter (`/api/chat`), on the same instance of
 * the same model, in rounds that rotate the order so drift hits all alike. Prints each path's decode
 * tokens/s as the client sees it (tokens after the first, per second) and its ratio to OpenAI, and
 * its time to first token against the engine's own chat endpoint, asked in the same round.
 *
 *   npm run bench:adapters                          # synthetic 12 x 768 f16 model (~270 MB)
 *   npm run bench:adapters -- --rounds 12 --tokens 128 --threads 1
 */
import { parseArgs } from "node:util";
import { readLines } from "../src/util/line-decoder.js";
import { decodeServerSentEvents } from "../src/util/sse.js";
import { engineKey, startBenchCluster } from "./bench-cluster.js";
import { median, until } from "./streaming-sample.js";

const { values: options } = parseArgs({
  options: {
    rounds: { type: "string", default: "10" },
    tokens: { type: "string", default: "128" },
    layers: { type: "string", default: "12" },
    embedding: { type: "string", default: "768" },
    threads: { type: "string" },
  },
});
const rounds = Number(options.rounds);
const maxTokens = Number(options.tokens);
const threads = options.threads ? Number(options.threads) : undefined;
const model = `synth-${options.layers}x${options.embedding}`;
const messages = [{ role: "user", content: "Once upon a time, in a small village by the sea, there lived" }];

type Path = "openai" | "anthropic" | "ollama";

/** Where a chat goes: one of herd's protocols, or the engine itself (its OpenAI chat, with its key). */
type Target = { path: Path; baseUrl: string; key?: string };

/** One streamed chat; returns when it was sent and the arrival time of each token's event. */
async function tokenTimes({ path, baseUrl, key }: Target): Promise<{ sentAt: number; times: number[] }> {
  const request = {
    openai: [
      "/v1/chat/completions",
      { model, messages, max_tokens: maxTokens, temperature: 0, stream: true },
    ],
    anthropic: ["/v1/messages", { model, messages, max_tokens: maxTokens, temperature: 0, stream: true }],
    ollama: ["/api/chat", { model, messages, options: { num_predict: maxTokens, temperature: 0 } }],
  } as const;
  const [url, body] = request[path];
  const sentAt = performance.now();
  const response = await fetch(`${baseUrl}${url}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  const chunks = response.body as unknown as AsyncIterable<Uint8Array>;
  const times: number[] = [];
  if (path === "ollama") {
    for await (const line of readLines(chunks)) {
      const value = JSON.parse(line) as { done: boolean; message?: { content?: string } };
      if (!value.done && value.message?.content) times.push(performance.now());
    }
    return { sentAt, times };
  }
  for await (const event of decodeServerSentEvents(chunks)) {
    if (event.data === "[DONE]") break;
    const value = JSON.parse(event.data) as {
      type?: string;
      choices?: Array<{ delta?: { content?: string | null } }>;
    };
    if (path === "anthropic" ? value.type === "content_block_delta" : value.choices?.[0]?.delta?.content) {
      times.push(performance.now());
    }
  }
  return { sentAt, times };
}

/** Decode tokens/s as the client sees it, and the time to the first token's event. */
async function sample(target: Target): Promise<{ rate: number; ttftMs: number }> {
  const { sentAt, times } = await tokenTimes(target);
  if (times.length < 2) throw new Error(`only ${times.length} tokens through ${target.path}`);
  return { rate: ((times.length - 1) * 1000) / (times.at(-1)! - times[0]!), ttftMs: times[0]! - sentAt };
}

async function main(): Promise<void> {
  const cluster = await startBenchCluster(1);
  const { client } = cluster.nodes[0]!;
  const baseUrl = client.baseUrl;
  try {
    const embedding = Number(options.embedding);
    const profile = await client.synthModel({
      name: model,
      layers: Number(options.layers),
      embedding,
      feedForward: Math.ceil((embedding * 8) / 3 / 32) * 32,
      heads: embedding / 64,
      kvHeads: embedding / 64,
      type: "f16",
    });
    await client.load({ model, parallel: 1, contextSize: 2048, threads });
    await until(async () => {
      const [status] = await client.instances();
      if (status?.state !== "READY") throw new Error(status?.reason ?? "no instance");
    }, 600_000);
    console.log(
      `${model} (${(profile.sizeBytes / 2 ** 20).toFixed(0)} MiB f16), ${rounds} rounds of ${maxTokens} tokens per path, engine threads ${threads ?? "default"}\n`,
    );
    const [instance] = await client.instances();
    const engine: Target = {
      path: "openai",
      baseUrl: `http://127.0.0.1:${instance!.enginePort!}`,
      key: await engineKey(cluster.nodes[0]!, instance!.id),
    };
    const paths: Path[] = ["openai", "anthropic", "ollama"];
    for (const path of paths) await sample({ path, baseUrl }); // warm-up
    await sample(engine);
    const samples: Record<Path, Array<{ rate: number; ttftMs: number }>> = {
      openai: [],
      anthropic: [],
      ollama: [],
    };
    const engineTtft: number[] = [];
    for (let round = 0; round < rounds; round++) {
      engineTtft.push((await sample(engine)).ttftMs);
      for (let step = 0; step < paths.length; step++) {
        const path = paths[(round + step) % paths.length]!;
        samples[path].push(await sample({ path, baseUrl }));
      }
    }
    const openai = median(samples.openai.map((each) => each.rate));
    console.log(`the engine's own chat: time to first token ${median(engineTtft).toFixed(2)} ms (median)\n`);
    console.log(
      "| path                           | decode tok/s (median) | ratio to OpenAI | TTFT ms | TTFT added ms (paired) |",
    );
    console.log(
      "|--------------------------------|----------------------:|----------------:|--------:|-----------------------:|",
    );
    for (const [path, label] of [
      ["openai", "OpenAI passthrough"],
      ["anthropic", "Anthropic adapter /v1/messages"],
      ["ollama", "Ollama adapter /api/chat"],
    ] as const) {
      const rate = median(samples[path].map((each) => each.rate));
      const ttft = median(samples[path].map((each) => each.ttftMs));
      // Paired with the engine's own chat of the same round, so that drift between rounds cancels.
      const added = median(samples[path].map((each, round) => each.ttftMs - engineTtft[round]!));
      console.log(
        `| ${label.padEnd(30)} | ${rate.toFixed(2).padStart(21)} | ${(rate / openai).toFixed(3).padStart(15)} | ${ttft.toFixed(2).padStart(7)} | ${added.toFixed(2).padStart(22)} |`,
      );
    }
  } finally {
    await cluster.stop();
  }
}

await main();
