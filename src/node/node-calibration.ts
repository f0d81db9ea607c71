import { join } from "node:path";
import { z } from "zod";
import { measureRpcRoundTrip } from "../cluster/rpc-ping.js";
import { type ConfigOverrides, homePaths, loadConfig } from "../config.js";
import { calibrateEngine, calibrationKey } from "../engine/calibrate-engine.js";
import { EngineQuirks, engineKey } from "../engine/engine-quirks.js";
import { engineVocabPath } from "../engine/engine-source.js";
import {
  hopOf,
  learnFromDecode,
  type ShardRoute,
  withHop,
  withMeasurement,
} from "../placement/calibration.js";
import { NodeCalibration, type SelfMeasurement } from "../protocol/calibration.js";
import type { InstancePlan } from "../protocol/cluster.js";
import type { EngineInstall } from "../protocol/engine.js";
import type { NodeId } from "../protocol/ids.js";
import type { InstanceStatus } from "../protocol/instance.js";
import { rpcRouteKey } from "../protocol/instance-plan.js";
import { readJsonFile, writeJsonAtomic } from "../util/json-file.js";
import type { Logger } from "../util/logger.js";
import { prepareEngine } from "./node-engine.js";

/** Each engine build's calibration, by `engineKey`: a new build starts afresh. */
const CalibrationFile = z.record(z.string(), NodeCalibration);

/** After the node starts, before the self-measure: loads asked for at start go first. */
const selfMeasureDelayMs = 15_000;
/** While an instance loads or serves, the self-measure waits this long and looks again. */
const busyRetryMs = 15_000;
/** A self-measure that failed (a machine too busy to measure) is tried again this much later, this often. */
const failedRetryMs = 120_000;
const selfMeasureAttempts = 3;
/** How often READY instances' decode is compared with their plans (the stats are sampled every 2 s). */
const feedbackIntervalMs = 5_000;
/** Fewer tokens than this in an interval say too little about decode speed. */
const feedbackMinimumTokens = 8;
/** An RPC path's round trip is measured again at an engine start once it is this old. */
const hopRefreshMs = 10 * 60_000;
/** The most one path's RPC measurement may add to an engine's start. */
const hopMeasureTimeoutMs = 500;

export interface NodeCalibratorOptions {
  selfId: NodeId;
  engine: EngineInstall;
  /** Where the calibration file is kept (`<home>/state`). */
  stateDirectory: string;
  /** Where the calibration models are written once (`<home>/cache/calibration`). */
  cacheDirectory: string;
  /** The engine cache, for the vocabulary the calibration models carry. */
  engineCache: string;
  workarounds: () => Promise<string[]>;
  /** Instances headed here, with their plans and stats. */
  instances: () => InstanceStatus[];
  /** Measure the engine in the background when it has not been (`HERD_CALIBRATE`). */
  selfMeasure: boolean;
  /** The threads this node's engines run on (`--engine-threads`): measured, and kept, as such. */
  threads?: number;
  logger: Logger;
}

/**
 * This node's calibration, the thin shell around calibration.ts: the engine's self-measure in the
 * background, the RPC round trip of each path it heads, and the corrections its READY instances'
 * decode teaches; kept in `<home>/state/calibration.json` and announced in the node's profile.
 */
export class NodeCalibrator {
  private all: z.infer<typeof CalibrationFile> = {};
  private readonly key: string;
  private readonly abort = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly seenSamples = new Map<string, string>();
  private measuring: Promise<SelfMeasurement> | undefined;

  constructor(private readonly options: NodeCalibratorOptions) {
    this.key = calibrationKey(options.engine, options.threads);
  }

  private get path(): string {
    return join(this.options.stateDirectory, "calibration.json");
  }

  /** What the profile announces; undefined while the node knows nothing of itself yet. */
  current(): NodeCalibration | undefined {
    const calibration = this.all[this.key];
    if (!calibration || (!calibration.measured && !calibration.correction && calibration.hops.length === 0))
      return undefined;
    return calibration;
  }

  async start(): Promise<void> {
    await this.reload();
    // Reloaded each round: `herd engine calibrate` may have measured the engine meanwhile.
    this.every(feedbackIntervalMs, async () => {
      await this.reload();
      await this.feedback();
    });
    if (this.options.selfMeasure && !this.all[this.key]?.measured)
      this.later(selfMeasureDelayMs, () => this.measureWhenIdle(selfMeasureAttempts));
  }

  /** Measures the engine now (once at a time) and keeps the result. */
  measure(signal?: AbortSignal): Promise<SelfMeasurement> {
    this.measuring ??= (async () => {
      const measured = await calibrateEngine({
        engine: this.options.engine,
        cacheDirectory: this.options.cacheDirectory,
        vocabPath: await engineVocabPath(this.options.engineCache),
        workarounds: await this.options.workarounds(),
        threads: this.options.threads,
        signal: AbortSignal.any([this.abort.signal, ...(signal ? [signal] : [])]),
        onWait: () =>
          this.options.logger.info(
            "another herd process on this machine is measuring its engine; measuring after it",
          ),
      });
      await this.update((calibration) => withMeasurement(calibration, measured));
      this.options.logger.info(
        {
          bandwidthGBps: Math.round(measured.bandwidthBytesPerSecond / 1e7) / 100,
          tokenOverheadMs: Math.round(measured.tokenOverheadSeconds * 1e5) / 100,
        },
        "measured this node's engine for the planner",
      );
      return measured;
    })().finally(() => {
      this.measuring = undefined;
    });
    return this.measuring;
  }

  /**
   * Times the RPC round trip to each remote shard of `plan` through `endpoints` (what llama-server's
   * `--rpc` gets), where it is not known or old. Called before the engine connects: a ggml-rpc-server
   * serves one client at a time. A failure is logged and the start goes on without the figure.
   */
  async measureHops(plan: InstancePlan, endpoints: readonly string[], signal: AbortSignal): Promise<void> {
    const now = Date.now();
    for (const [index, shard] of shardRoutes(plan).entries()) {
      const endpoint = endpoints[index];
      const known = hopOf(this.all[this.key], shard).rpcMeasuredAt ?? 0;
      const { node } = shard;
      if (node === this.options.selfId || endpoint === undefined || now - known < hopRefreshMs) continue;
      try {
        const { roundTripSeconds } = await measureRpcRoundTrip(endpoint, {
          signal,
          timeoutMs: hopMeasureTimeoutMs,
        });
        await this.update((calibration) =>
          withHop(calibration, {
            ...hopOf(calibration, shard),
            rpcRoundTripSeconds: roundTripSeconds,
            rpcMeasuredAt: Date.now(),
          }),
        );
      } catch (error) {
        this.options.logger.debug({ err: error, node }, "could not time the RPC round trip to a shard");
      }
    }
  }

  /** Stops the timers and any measurement. Safe to call twice. */
  dispose(): void {
    this.abort.abort();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Compares each READY instance's newest decode with its plan, and learns from the difference. */
  private async feedback(): Promise<void> {
    for (const instance of this.options.instances()) {
      const { plan, stats } = instance;
      const decode = stats?.decode;
      if (instance.state !== "READY" || !plan || !decode || decode.tokens < feedbackMinimumTokens) continue;
      const headSeconds = plan.predictedHeadSeconds;
      const uncorrectedHeadSeconds = plan.uncorrectedHeadSeconds;
      const uncorrectedRemoteSeconds = plan.uncorrectedRemoteSeconds;
      if (
        headSeconds === undefined ||
        uncorrectedHeadSeconds === undefined ||
        uncorrectedRemoteSeconds === undefined
      )
        continue;
      if (this.seenSamples.get(instance.id) === stats.sampledAt) continue;
      this.seenSamples.set(instance.id, stats.sampledAt);
      const predicted = { headSeconds, uncorrectedHeadSeconds, uncorrectedRemoteSeconds };
      const shards = shardRoutes(plan).filter(({ node }) => node !== this.options.selfId);
      await this.update((calibration) =>
        learnFromDecode(calibration, predicted, decode.seconds / decode.tokens, shards, Date.now()),
      );
    }
  }

  private async measureWhenIdle(attempts: number): Promise<void> {
    const busy = this.options
      .instances()
      .some(
        (instance) =>
          (instance.state !== "READY" && instance.state !== "FAILED") ||
          (instance.stats?.slotsInUse ?? 0) > 0,
      );
    if (busy) {
      this.later(busyRetryMs, () => this.measureWhenIdle(attempts));
      return;
    }
    try {
      await this.measure();
    } catch (error) {
      if (this.abort.signal.aborted) return;
      // The planner keeps the chip table's guess meanwhile; a busy machine may measure later.
      this.options.logger.warn({ err: error }, "could not measure this node's engine for the planner");
      if (attempts > 1) this.later(failedRetryMs, () => this.measureWhenIdle(attempts - 1));
    }
  }

  private async update(change: (calibration: NodeCalibration) => NodeCalibration): Promise<void> {
    this.all = await updateCalibrationFile(this.path, this.key, change);
  }

  private async reload(): Promise<void> {
    try {
      this.all = (await readJsonFile(this.path, CalibrationFile)) ?? {};
    } catch (error) {
      // A damaged file only loses what was learnt: go on with what is in memory (or nothing).
      this.options.logger.warn({ err: error, path: this.path }, "ignoring an unreadable calibration file");
    }
  }

  private later(delayMs: number, task: () => Promise<void>): void {
    if (this.abort.signal.aborted) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void task();
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  private every(intervalMs: number, task: () => Promise<void>): void {
    this.later(intervalMs, async () => {
      await task().catch((error: unknown) =>
        this.options.logger.debug({ err: error }, "could not learn from the instances' decode speed"),
      );
      this.every(intervalMs, task);
    });
  }
}

/** Reads the file, changes one engine's calibration and writes it back whole; returns the new content. */
async function updateCalibrationFile(
  path: string,
  key: string,
  change: (calibration: NodeCalibration) => NodeCalibration,
): Promise<z.infer<typeof CalibrationFile>> {
  // A damaged file is replaced: what was learnt is lost, the node goes on learning.
  const all = (await readJsonFile(path, CalibrationFile).catch(() => undefined)) ?? {};
  const next = { ...all, [key]: change(all[key] ?? { hops: [] }) };
  await writeJsonAtomic(path, next);
  return next;
}

/**
 * `herd engine calibrate`: measures this machine's engine now, without a node, and keeps the result
 * where a node started with the same home reads it (a running one within seconds).
 */
export async function calibrateLocalEngine(
  overrides: ConfigOverrides,
  onWait?: () => void,
): Promise<SelfMeasurement> {
  const config = loadConfig(overrides);
  const engine = await prepareEngine(config, { buildIfMissing: false });
  const state = homePaths(config.home).state;
  const quirks = new EngineQuirks(join(state, "engine-quirks.json"));
  const measured = await calibrateEngine({
    engine,
    cacheDirectory: calibrationCacheDirectory(config.home),
    vocabPath: await engineVocabPath(config.engineCache),
    workarounds: (await quirks.list(engineKey(engine))).map((workaround) => workaround.flag),
    threads: config.engineThreads,
    onWait,
  });
  const key = calibrationKey(engine, config.engineThreads);
  await updateCalibrationFile(join(state, "calibration.json"), key, (calibration) =>
    withMeasurement(calibration, measured),
  );
  return measured;
}

/** Where the calibration models are written once: `<home>/cache/calibration`. */
export function calibrationCacheDirectory(home: string): string {
  return join(home, "cache", "calibration");
}

/** Each RPC node of `plan` with how its head reaches it (`rpcRouteKey`), in `--rpc` order. */
function shardRoutes(plan: InstancePlan): ShardRoute[] {
  return plan.rpcNodes.map((node, index) => ({ node, route: rpcRouteKey(plan.rpcRoutes?.[index]) }));
}
