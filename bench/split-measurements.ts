import type { HerdClient } from "../src/client/herd-client.js";
import type { LoadModelRequest } from "../src/protocol/management.js";
import { median, streamingSample, until } from "./streaming-sample.js";

/** How `bench:distributed` loads and measures the split model, the same in each of its scenarios. */
export interface SplitOptions {
  /** Engine threads; default: the engines' own. */
  threads: number | undefined;
  tokens: number;
  rounds: number;
}

/** The load `loadTimed` asks for: the bench model over `count` nodes, layer split, one slot. */
export function splitRequest(
  count: number,
  rpcTransport: "tunnel" | "direct" | "auto",
  options: SplitOptions,
): LoadModelRequest {
  return {
    model: "bench",
    minNodes: count,
    maxNodes: count,
    split: "layer",
    parallel: 1,
    contextSize: 1024,
    rpcTransport,
    ...(options.threads ? { threads: options.threads } : {}),
  };
}

/** Loads `bench` over exactly `count` nodes and returns the milliseconds until READY. */
export async function loadTimed(
  client: HerdClient,
  count: number,
  rpcTransport: "tunnel" | "direct" | "auto",
  options: SplitOptions,
): Promise<number> {
  const started = Date.now();
  await client.load(splitRequest(count, rpcTransport, options));
  await until(async () => {
    const [status] = await client.instances();
    if (status?.state !== "READY") throw new Error(status?.reason ?? "not loaded");
  }, 600_000);
  return Date.now() - started;
}

/** Median decode tokens/s of two endpoints serving `bench`, measured in alternating rounds. */
export async function compare(
  first: string,
  second: string,
  options: SplitOptions,
): Promise<[number, number]> {
  const [a, b] = await compareAll([first, second], options);
  return [a!, b!];
}

/** Median decode tokens/s of each endpoint serving `bench`, measured in rounds whose order turns. */
export async function compareAll(urls: string[], options: SplitOptions): Promise<number[]> {
  const body = { model: "bench", prompt: "Once upon a time", max_tokens: options.tokens };
  for (const url of urls) await streamingSample(url, body, undefined);
  const rates: number[][] = urls.map(() => []);
  for (let round = 0; round < options.rounds; round++) {
    for (let turn = 0; turn < urls.length; turn++) {
      const index = (turn + round) % urls.length;
      const sample = await streamingSample(urls[index]!, body, undefined);
      rates[index]!.push(sample.decodeTokensPerSecond);
    }
  }
  return rates.map(median);
}
