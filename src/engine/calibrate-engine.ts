import { type ChildProcess, spawn } from "node:child_process";
import { access, mkdir } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { planGgufFile } from "../models/gguf-writer.js";
import { type SynthModelShape, synthModelContent, writeSynthModel } from "../models/synth-model.js";
import { layerDispatchSeconds } from "../placement/cost-model.js";
import type { SelfMeasurement } from "../protocol/calibration.js";
import type { EngineInstall } from "../protocol/engine.js";
import { abortAfter } from "../util/abort-after.js";
import { withFolderLock } from "../util/folder-lock.js";
import { findFreePort } from "../util/free-port.js";
import { engineKey } from "./engine-quirks.js";

/**
 * Two q8_0 Llama models of the same depth, one about three times the other in weight bytes read per
 * token (~56 and ~172 MB): both well past a CPU's last-level cache, small enough that writing them
 * once and decoding a few dozen tokens of each takes seconds. Same depth, so the per-block dispatch
 * cancels out and the difference in time is the difference in bytes.
 */
export const calibrationShapes = [
  { name: "calibrate-small", layerCount: 4, embeddingLength: 768, feedForwardLength: 2048, headCount: 12 },
  { name: "calibrate-large", layerCount: 4, embeddingLength: 1536, feedForwardLength: 4096, headCount: 12 },
] as const;
/** Tokens timed per request, and requests per model (after a short warm-up request). */
const timedTokens = 16;
const timedRounds = 8;
/** The longest a calibration may take before it is given up (a busy or very slow machine). */
const calibrationTimeoutMs = 120_000;

/** One model's decode, as the engine timed it. */
export interface DecodeTiming {
  /** Weight bytes one token reads: every block, the output norm and the output matrix. */
  bytesPerToken: number;
  layerCount: number;
  secondsPerToken: number;
}

/**
 * Effective bandwidth and per-token overhead from two decodes: time per token = bytes ÷ bandwidth +
 * blocks × dispatch + overhead, so the slope between the two is the bandwidth and what is left of
 * the smaller one's time, less the cost model's own dispatch term, the overhead (never below 0).
 * Throws when the larger model was not slower: the timings say nothing then (a busy machine).
 */
export function fitSelfMeasurement(
  timings: readonly [DecodeTiming, DecodeTiming],
  engine: string,
  measuredAt: number,
): SelfMeasurement {
  const [small, large] = [...timings].sort((a, b) => a.bytesPerToken - b.bytesPerToken) as [
    DecodeTiming,
    DecodeTiming,
  ];
  const extraSeconds = large.secondsPerToken - small.secondsPerToken;
  if (!(extraSeconds > 0) || !(large.bytesPerToken > small.bytesPerToken))
    throw new Error(
      `the larger calibration model decoded no slower (${(large.secondsPerToken * 1000).toFixed(2)} ms against ${(small.secondsPerToken * 1000).toFixed(2)} ms per token): the machine was too busy to measure`,
    );
  const bandwidthBytesPerSecond = (large.bytesPerToken - small.bytesPerToken) / extraSeconds;
  const overhead =
    small.secondsPerToken -
    small.bytesPerToken / bandwidthBytesPerSecond -
    small.layerCount * layerDispatchSeconds;
  return { engine, bandwidthBytesPerSecond, tokenOverheadSeconds: Math.max(0, overhead), measuredAt };
}

export interface CalibrateOptions {
  engine: EngineInstall;
  /** Where the calibration models are written once and kept. */
  cacheDirectory: string;
  /** The engine's llama-spm vocabulary (`engineVocabPath`). */
  vocabPath: string;
  /** Flags the engine needs on this machine (`EngineQuirks`). */
  workarounds?: string[];
  /** The threads the node's engines run on (`--engine-threads`); default llama.cpp's. */
  threads?: number;
  signal?: AbortSignal;
  /** Told once when another herd process on this machine is measuring, and this one waits for it. */
  onWait?: () => void;
}

/**
 * The lock folder by which measures on one machine take turns: several nodes started together (a
 * benchmark, nodes in network namespaces, `herd engine calibrate` beside a node) would otherwise
 * decode at once and each read the other's load as its own speed (one such pair read 7.1 and 33.8
 * GB/s of the same memory). One lock per user: another user's lock left by a process that died
 * could not be taken over.
 */
const lockPath = join(tmpdir(), `herd-self-measure-${userInfo().uid}.lock`);

/**
 * Measures what this node's engine reaches: both calibration models served at once, decoded in
 * alternating rounds (whatever else the machine does then falls on both alike), the fastest round of
 * each fitted by `fitSelfMeasurement`. A few seconds once the models are written.
 */
export function calibrateEngine(options: CalibrateOptions): Promise<SelfMeasurement> {
  return withFolderLock(
    lockPath,
    () => options.onWait?.(),
    () => measureEngine(options),
    options.signal,
  );
}

async function measureEngine(options: CalibrateOptions): Promise<SelfMeasurement> {
  // The time limit starts once it is this process's turn.
  const signal = abortAfter(calibrationTimeoutMs, options.signal);
  await mkdir(options.cacheDirectory, { recursive: true });
  const models = calibrationShapes.map((shape) => ({
    shape: { ...shape, vocabPath: options.vocabPath, weightType: "q8_0" } satisfies SynthModelShape,
    path: join(options.cacheDirectory, `${shape.name}.gguf`),
  }));
  for (const { shape, path } of models)
    if (!(await exists(path))) await writeSynthModel({ ...shape, outputPath: path }, { signal });
  const servers = await Promise.all(models.map(({ path }) => startServer(options, path)));
  try {
    for (const server of servers) await server.ready(signal);
    for (const server of servers) await server.complete(4, signal);
    const rounds: number[][] = models.map(() => []);
    for (let round = 0; round < timedRounds; round++) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const index of order) {
        const timings = await servers[index]!.complete(timedTokens, signal);
        rounds[index]!.push(timings.predicted_ms / 1000 / timings.predicted_n);
      }
    }
    const timings = await Promise.all(
      models.map(async ({ shape }, index) => ({
        bytesPerToken: await bytesPerToken(shape, signal),
        layerCount: shape.layerCount,
        // The fastest round: whatever else the machine did only ever adds time.
        secondsPerToken: Math.min(...rounds[index]!),
      })),
    );
    const key = calibrationKey(options.engine, options.threads);
    return fitSelfMeasurement(timings as [DecodeTiming, DecodeTiming], key, Date.now());
  } finally {
    for (const server of servers) server.stop();
  }
}

/** Every tensor a token reads in decode: all but the input embeddings, of which it reads one row. */
export async function bytesPerToken(shape: SynthModelShape, signal?: AbortSignal): Promise<number> {
  const { content } = await synthModelContent(shape, signal);
  return planGgufFile(content)
    .tensors.filter((tensor) => tensor.name !== "token_embd.weight")
    .reduce((sum, tensor) => sum + tensor.byteSize, 0);
}

/**
 * What a node's calibration is kept under: its engine build, and the threads its engines run on
 * where the node sets them. A node given fewer threads decodes slower, and what its instances taught
 * at one count says nothing of another.
 */
export function calibrationKey(install: EngineInstall, threads?: number): string {
  return threads === undefined ? engineKey(install) : `${engineKey(install)} threads=${threads}`;
}

/** llama-server on one calibration model: loopback only, on the threads the node's engines take. */
async function startServer(options: CalibrateOptions, path: string) {
  const port = await findFreePort();
  const args = ["--model", path, "--host", "127.0.0.1", "--port", String(port), "--ctx-size", "256"];
  args.push("--parallel", "1", "--no-webui", ...(options.workarounds ?? []));
  if (options.threads !== undefined) args.push("--threads", String(options.threads));
  const child: ChildProcess = spawn(options.engine.llamaServer, args, { stdio: "ignore" });
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code, exitSignal) =>
      reject(new Error(`llama-server exited while calibrating (${code ?? exitSignal})`)),
    ),
  );
  exited.catch(() => {});
  const url = `http://127.0.0.1:${port}`;
  return {
    ready: (signal: AbortSignal) => Promise.race([waitHealthy(url, signal), exited]),
    complete: async (tokens: number, signal: AbortSignal) => {
      const timings = await Promise.race([complete(url, tokens, signal), exited]);
      if (!(timings.predicted_n > 1)) throw new Error("llama-server generated no tokens while calibrating");
      return timings;
    },
    stop: () => child.kill("SIGKILL"),
  };
}

async function waitHealthy(url: string, signal: AbortSignal): Promise<void> {
  for (;;) {
    signal.throwIfAborted();
    // Refused connections and 503s while the model loads: try again shortly.
    const status = await fetch(`${url}/health`, { signal })
      .then((response) => response.status)
      .catch(() => 0);
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function complete(
  url: string,
  tokens: number,
  signal: AbortSignal,
): Promise<{ predicted_ms: number; predicted_n: number }> {
  const response = await fetch(`${url}/completion`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      prompt: "Once upon a time",
      n_predict: tokens,
      temperature: 0,
      ignore_eos: true,
      cache_prompt: false,
    }),
    signal,
  });
  const body = (await response.json()) as { timings?: { predicted_ms: number; predicted_n: number } };
  if (!response.ok || !body.timings)
    throw new Error(`llama-server answered ${response.status} while calibrating`);
  return body.timings;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
