/**
 * What the protocol adapters cost: the same streaming chat through herd's OpenAI passthrough, its
 * Anthropic adapter (`/v1/messages`) and its Ollama adapter (`/api/chat`), on the same instance of
 * the same model, in rounds that rotate the order so drift hits all alike. Prints each path's decode
 * tokens/s as the client sees it (tokens after the first, per second) and its ratio to OpenAI.
 *
 *   npm run bench:adapters                          # synthetic 12 x 768 f16 model (~270 MB)
 *   npm run bench:adapters -- --rounds 12 --tokens 128 --threads 1
 */
import { parseArgs } from "node:util";
import { readLines } from "../src/util/line-decoder.js";
import { decodeServerSentEvents } from "../src/util/sse.js";
import { startBenchCluster } from "./bench-cluster.js";
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

/** One streamed chat through one protocol; returns the arrival time of each token's event. */
async function tokenTimes(baseUrl: string, path: Path): Promise<number[]> {
  const request = {
    openai: [
      "/v1/chat/completions",
      { model, messages, max_tokens: maxTokens, temperature: 0, stream: true },
    ],
    anthropic: ["/v1/messages", { model, messages, max_tokens: maxTokens, temperature: 0, stream: true }],
    ollama: ["/api/chat", { model, messages, options: { num_predict: maxTokens, temperature: 0 } }],
  } as const;
  const [url, body] = request[path];
  const response = await fetch(`${baseUrl}${url}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
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
    return times;
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
  return times;
}

async function decodeRate(baseUrl: string, path: Path): Promise<number> {
  const times = await tokenTimes(baseUrl, path);
  if (times.length < 2) throw new Error(`only ${times.length} tokens through ${path}`);
  return ((times.length - 1) * 1000) / (times.at(-1)! - times[0]!);
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
    const paths: Path[] = ["openai", "anthropic", "ollama"];
    for (const path of paths) await decodeRate(baseUrl, path); // warm-up
    const rates: Record<Path, number[]> = { openai: [], anthropic: [], ollama: [] };
    for (let round = 0; round < rounds; round++) {
      for (let step = 0; step < paths.length; step++) {
        const path = paths[(round + step) % paths.length]!;
        rates[path].push(await decodeRate(baseUrl, path));
      }
    }
    const openai = median(rates.openai);
    console.log("| path                           | decode tok/s (median) | ratio to OpenAI |");
    console.log("|--------------------------------|----------------------:|----------------:|");
    for (const [path, label] of [
      ["openai", "OpenAI passthrough"],
      ["anthropic", "Anthropic adapter /v1/messages"],
      ["ollama", "Ollama adapter /api/chat"],
    ] as const) {
      const rate = median(rates[path]);
      console.log(
        `| ${label.padEnd(30)} | ${rate.toFixed(2).padStart(21)} | ${(rate / openai).toFixed(3).padStart(15)} |`,
      );
    }
  } finally {
    await cluster.stop();
  }
}

await main();
