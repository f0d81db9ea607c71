import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { InstanceStats } from "../protocol/instance.js";
import { silentLogger } from "../util/logger.js";
import { EngineStatsSampler } from "./engine-stats-sampler.js";

let server: Server | undefined;
let sampler: EngineStatsSampler | undefined;
afterEach(async () => {
  sampler?.stop();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

/** An engine's `/metrics` that counts its readers; `predicted` is its generated-token counter. */
async function startEngine(): Promise<{
  baseUrl: string;
  reads: () => number;
  /** When each reading came, by performance.now(). */
  readTimes: number[];
  generate: (tokens: number) => void;
}> {
  let reads = 0;
  const readTimes: number[] = [];
  let predicted = 0;
  server = createServer((request, response) => {
    if (request.url !== "/metrics") return response.writeHead(404).end();
    reads++;
    readTimes.push(performance.now());
    response.end(
      [
        `llamacpp:tokens_predicted_total ${predicted}`,
        "llamacpp:requests_processing 0",
        "llamacpp:requests_deferred 0",
        `llamacpp:tokens_predicted_seconds_total ${predicted / 100}`,
      ].join("\n"),
    );
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    reads: () => reads,
    readTimes,
    generate: (tokens) => (predicted += tokens),
  };
}

/** A sampler of `engine` every 20 ms, with `options` on top (request counts, the idle read). */
function startSampler(
  engine: { baseUrl: string },
  options: Partial<ConstructorParameters<typeof EngineStatsSampler>[0]> = {},
): EngineStatsSampler {
  sampler = new EngineStatsSampler({
    baseUrl: engine.baseUrl,
    apiKey: "key",
    slots: 1,
    logger: silentLogger(),
    intervalMs: 20,
    ...options,
  });
  sampler.start();
  return sampler;
}

/** How long the sampler has to get somewhere: a hundred of its 20 ms intervals. */
const within = { timeout: 2000, interval: 10 };

describe("EngineStatsSampler", () => {
  it("does not wake an engine herd has sent nothing since its last reading, and reads it once herd does", async () => {
    const engine = await startEngine();
    const requests = { sent: 0, inFlight: 0 };
    const samples: InstanceStats[] = [];
    startSampler(engine, { requests: () => requests, onSample: (stats) => samples.push(stats) });
    await vi.waitFor(() => expect(samples.length).toBeGreaterThanOrEqual(8), within);
    // The first interval reads the engine; the idle ones after it are sampled from that reading.
    expect(engine.reads()).toBe(1);
    // Each interval still gives a sample: an idle one, nothing generated.
    expect(samples.at(-1)!.tokensPerSecond).toBe(0);
    expect(samples.at(-1)!.recentTokensPerSecond.length).toBeGreaterThanOrEqual(7);

    // A request goes out: the engine is read while it is in flight, and once more after.
    requests.sent = 1;
    requests.inFlight = 1;
    engine.generate(50);
    await vi.waitFor(() => expect(engine.reads()).toBeGreaterThanOrEqual(3), within);
    requests.inFlight = 0;
    const afterRequest = engine.reads();
    await vi.waitFor(() => expect(engine.reads()).toBeGreaterThan(afterRequest), within);
    // The reading taken while the request was in flight is followed by one more; then none (a
    // sampler that read every interval would never go 150 ms without).
    let settled = -1;
    for (let tries = 0; settled !== engine.reads(); tries++) {
      if (tries > 20) throw new Error("the engine is still read every interval");
      settled = engine.reads();
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(engine.reads()).toBe(settled);
    expect(samples.some((stats) => stats.tokensPerSecond > 0)).toBe(true);
    expect(samples.at(-1)!.tokensPerSecond).toBe(0);
  });

  it("reads an idle engine again after idleReadMs, and every interval without request counts", async () => {
    const engine = await startEngine();
    const idle = startSampler(engine, { idleReadMs: 100, requests: () => ({ sent: 0, inFlight: 0 }) });
    await vi.waitFor(() => expect(engine.reads()).toBeGreaterThanOrEqual(3), within);
    idle.stop();
    const gaps = engine.readTimes.slice(1).map((time, index) => time - engine.readTimes[index]!);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(95);

    const counted = engine.reads();
    startSampler(engine);
    await vi.waitFor(() => expect(engine.reads()).toBeGreaterThanOrEqual(counted + 5), within);
  });
});
