import { randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { EngineInstall } from "../protocol/engine.js";
import type { InstanceSpec, InstanceState, InstanceStats, InstanceStatus } from "../protocol/instance.js";
import type { ModelProfile } from "../protocol/model-profile.js";
import { Backoff, sleep } from "../util/backoff.js";
import { formatBytes } from "../util/format.js";
import { findFreePort } from "../util/free-port.js";
import type { Logger } from "../util/logger.js";
import { outsideRequest } from "../util/request-context.js";
import { type EngineBufferReport, engineMemoryByPlace, parseBufferReport } from "./engine-memory-report.js";
import { type EngineExit, EngineProcess } from "./engine-process.js";
import { type EngineQuirks, engineKey } from "./engine-quirks.js";
import { EngineStatsSampler } from "./engine-stats-sampler.js";
import { llamaServerArgs } from "./llama-server-args.js";
import { forgetEnginePid, recordEnginePid } from "./reap-orphan-engines.js";
import { warmUpEngine } from "./warm-up-engine.js";

export interface SupervisorOptions {
  spec: InstanceSpec;
  /** The model; absent when this node lacks its file and `obtainModel` gets it first. */
  model?: ModelProfile;
  /**
   * Gets the model file onto this node (from a peer) before the first start; `report` says how far
   * it got. A failure is reported as FAILED and tried again after a backoff.
   */
  obtainModel?: (
    signal: AbortSignal,
    report: (reason: string) => void,
  ) => Promise<{ model: ModelProfile; draft?: ModelProfile }>;
  /** The draft model for speculative decoding (`spec.draft`), from this node's store. */
  draft?: ModelProfile;
  engine: EngineInstall;
  quirks: EngineQuirks;
  logDirectory: string;
  /** Private folder for the engine's key file. */
  runDirectory: string;
  logger: Logger;
  /** Wraps engine commands so they die with herd (see `parentDeathWrapper`). */
  parentDeathWrapper?: string[];
  /** Called on every state change. */
  onStatus: (status: InstanceStatus) => void;
  /** Called with the engine's stats each time they are sampled (every 2 s while READY). */
  onStats?: (stats: InstanceStats) => void;
  /** The requests sent to this engine and in flight on it (see `EngineStatsSampler`). */
  requests?: () => { sent: number; inFlight: number };
  /** Called when herd adopts a workaround for this engine. */
  onWorkaround?: (flag: string, reason: string) => void;
  /** Run one short generation before READY, so the first request finds the engine warm. Default true. */
  warmup?: boolean;
  /** Threads where the spec names none (the node's `--engine-threads`); default llama.cpp's. */
  engineThreads?: number;
  /** Called once a warm-up is done (or failed), with how long loading and warming up took. */
  onWarmedUp?: (timing: { loadMs: number; warmupMs: number }) => void;
  /** Longest time a model may take to load before the attempt counts as failed. Default 10 min. */
  loadTimeoutMs?: number;
  /**
   * For a distributed instance: waits until its RPC shards are reachable and returns the flags that
   * use them (`--rpc ...`). Called before every start, since shards may have moved.
   */
  prepareShards?: (signal: AbortSignal) => Promise<string[]>;
}

/** How herd reaches a READY engine. */
export interface EngineEndpoint {
  baseUrl: string;
  apiKey: string;
}

/** Signals that mean the CPU met an instruction it does not have. */
const illegalInstruction = new Set<NodeJS.Signals>(["SIGILL"]);

/**
 * Runs one llama-server for one instance and keeps it running: start on a free loopback port, wait
 * for its health endpoint, report READY; when it exits unasked, report FAILED with the reason from
 * its output and start it again after a backoff. An engine that dies of SIGILL while loading gets
 * `--no-repack` (llama.cpp's CPU weight repacking uses instructions some CPUs advertise but fault
 * on) and is retried at once; the workaround is remembered for this engine.
 */
export class LlamaServerSupervisor {
  private current: InstanceStatus;
  private process: EngineProcess | undefined;
  private endpointValue: EngineEndpoint | undefined;
  private sampler: EngineStatsSampler | undefined;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly backoff = new Backoff({ initialMs: 250, maxMs: 30_000 });
  /** When the engine exited unasked (ms since epoch), the latest last; kept for an hour. */
  private exitTimes: number[] = [];
  private lastExit: string | undefined;

  constructor(private readonly options: SupervisorOptions) {
    const now = new Date().toISOString();
    this.current = {
      ...options.spec,
      state: "PLANNED",
      reason: "waiting to start",
      since: now,
      restarts: 0,
      workarounds: [],
    };
  }

  /** The status, with slots in use and tokens/s while READY. */
  get status(): InstanceStatus {
    const stats = this.current.state === "READY" ? this.sampler?.stats : undefined;
    const hourAgo = Date.now() - 3_600_000;
    this.exitTimes = this.exitTimes.filter((time) => time > hourAgo);
    const restarts =
      this.lastExit === undefined ? {} : { restartsLastHour: this.exitTimes.length, lastExit: this.lastExit };
    return { ...this.current, ...restarts, ...(stats ? { stats } : {}) };
  }

  /** Where to send requests; defined only while READY. */
  get endpoint(): EngineEndpoint | undefined {
    return this.current.state === "READY" ? this.endpointValue : undefined;
  }

  start(): void {
    this.loop ??= outsideRequest(() => this.run()).catch((error: unknown) => {
      this.options.logger.error(
        { err: error, instance: this.options.spec.id },
        "supervisor stopped unexpectedly",
      );
      this.update("FAILED", `herd could not supervise the engine: ${(error as Error).message}`);
    });
  }

  /** Stops the engine and the supervision. Safe to call twice. */
  async dispose(reason = "unload requested"): Promise<void> {
    if (!this.stopping.signal.aborted) {
      this.update("STOPPING", reason);
      this.stopping.abort(new Error("instance stopping"));
    }
    this.sampler?.stop();
    await this.process?.stop();
    await this.loop;
    await rm(join(this.options.runDirectory, `${this.options.spec.id}.key`), { force: true });
  }

  /** Kills the engine synchronously; for the moment herd exits. */
  killNow(): void {
    this.process?.killNow();
  }

  /** The model's (and draft's) profile, once their files are on this node; undefined when stopped first. */
  private async ensureModel(
    signal: AbortSignal,
  ): Promise<{ model: ModelProfile; draft?: ModelProfile } | undefined> {
    if (this.options.model) return { model: this.options.model, draft: this.options.draft };
    const obtain = this.options.obtainModel;
    if (!obtain) throw new Error("a supervisor needs a model or a way to obtain it");
    const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 });
    while (!signal.aborted) {
      this.update("STARTING", "getting the model file from a peer");
      try {
        return await obtain(signal, (reason) => {
          if (!signal.aborted) this.update("STARTING", reason);
        });
      } catch (error) {
        if (signal.aborted) break;
        this.update("FAILED", `cannot get the model file: ${(error as Error).message}`);
        await sleep(backoff.nextDelay(0), signal).catch(() => {});
      }
    }
    return undefined;
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    const key = engineKey(this.options.engine);
    const models = await this.ensureModel(signal);
    const model = models?.model;
    const draft = models?.draft;
    while (model && !signal.aborted) {
      const workarounds = (await this.options.quirks.list(key)).map((workaround) => workaround.flag);
      this.update("STARTING", this.current.restarts === 0 ? "starting the engine" : "restarting the engine", {
        workarounds,
        engineMemory: undefined,
      });
      let shardArgs: string[] = [];
      if (this.options.prepareShards) {
        this.update("STARTING", "waiting for the RPC shards on other nodes");
        try {
          shardArgs = await this.options.prepareShards(signal);
        } catch {
          break;
        }
      }
      const started = Date.now();
      const { engine, port, apiKey, buffers } = await this.spawnEngine(model, draft, shardArgs, workarounds);
      this.process = engine;
      if (engine.pid) await recordEnginePid(this.options.runDirectory, this.options.spec.id, engine.pid);
      this.endpointValue = { baseUrl: `http://127.0.0.1:${port}`, apiKey };
      this.update("LOADING", `loading ${model.name} (${formatBytes(model.sizeBytes)})`, {
        enginePort: port,
        enginePid: engine.pid,
      });
      const ready = await this.waitUntilReady(engine, this.endpointValue.baseUrl);
      if (ready) {
        const loadMs = Date.now() - started;
        const warmed = await this.warmUp(this.endpointValue, loadMs);
        this.options.logger.info(
          { instance: this.options.spec.id, model: this.options.spec.model, port, loadMs, ...warmed.fields },
          "engine ready",
        );
        this.update("READY", `serving on 127.0.0.1:${port}${warmed.note}`, {
          engineMemory: engineMemoryByPlace(buffers, rpcEndpointsIn(shardArgs)),
        });
        this.sampler = new EngineStatsSampler({
          ...this.endpointValue,
          slots: this.options.spec.parallel,
          logger: this.options.logger,
          onSample: this.options.onStats,
          ...(this.options.requests && { requests: this.options.requests }),
        });
        this.sampler.start();
      }
      const exit = await engine.exited;
      this.sampler?.stop();
      this.sampler = undefined;
      this.process = undefined;
      await forgetEnginePid(this.options.runDirectory, this.options.spec.id);
      if (signal.aborted) break;

      const output = engine.recentOutput();
      const reason = describeExit(exit, output);
      const ranForMs = Date.now() - started;
      this.exitTimes.push(Date.now());
      this.lastExit = reason;
      if (
        exit.signal &&
        illegalInstruction.has(exit.signal) &&
        !ready &&
        !workarounds.includes("--no-repack")
      ) {
        const why = `the engine died of ${exit.signal} while loading; retrying with --no-repack (CPU weight repacking uses instructions this CPU faults on)`;
        this.options.logger.warn({ instance: this.options.spec.id, engine: key }, why);
        await this.options.quirks.add(key, "--no-repack", why);
        this.options.onWorkaround?.("--no-repack", why);
        this.update("FAILED", why, {
          enginePid: undefined,
          enginePort: undefined,
          restarts: this.current.restarts + 1,
        });
        continue;
      }
      const delay = this.backoff.nextDelay(ranForMs);
      this.options.logger.warn(
        { instance: this.options.spec.id, exit, delayMs: delay },
        `engine exited: ${reason}`,
      );
      this.update("FAILED", `${reason}; restarting in ${(delay / 1000).toFixed(1)} s`, {
        enginePid: undefined,
        enginePort: undefined,
        restarts: this.current.restarts + 1,
      });
      try {
        await sleep(delay, signal);
      } catch {
        break;
      }
    }
  }

  /** Starts llama-server on a free loopback port with a fresh API key, collecting its buffer reports. */
  private async spawnEngine(
    model: ModelProfile,
    draft: ModelProfile | undefined,
    shardArgs: string[],
    workarounds: string[],
  ): Promise<{ engine: EngineProcess; port: number; apiKey: string; buffers: EngineBufferReport[] }> {
    const port = await findFreePort();
    const apiKey = randomBytes(24).toString("base64url");
    // The key goes in a file only this user can read: on the command line `ps` would show it.
    const apiKeyFile = join(this.options.runDirectory, `${this.options.spec.id}.key`);
    await mkdir(this.options.runDirectory, { recursive: true, mode: 0o700 });
    await writeFile(apiKeyFile, `${apiKey}\n`, { mode: 0o600 });
    const args = llamaServerArgs({
      modelPath: model.file,
      alias: this.options.spec.model,
      port,
      contextSize: this.options.spec.contextSize,
      parallel: this.options.spec.parallel,
      embeddings: this.options.spec.embeddings,
      modelHasPooling: model.isEmbeddingModel,
      threads: this.options.spec.threads ?? this.options.engineThreads,
      draft: draft && {
        modelPath: draft.file,
        maxTokens: this.options.spec.draftMax,
        // A split instance's devices include other nodes' RPC servers: the draft stays on the head.
        headOnly: shardArgs.length > 0,
      },
      apiKeyFile,
      workarounds,
    });
    args.push(...shardArgs);
    const buffers: EngineBufferReport[] = [];
    const engine = await EngineProcess.spawn({
      command: this.options.engine.llamaServer,
      args,
      logPath: join(this.options.logDirectory, `${this.options.spec.id}.log`),
      parentDeathWrapper: this.options.parentDeathWrapper,
      onLine: (line) => {
        const report = parseBufferReport(line);
        if (report) buffers.push(report);
      },
    });
    return { engine, port, apiKey, buffers };
  }

  /**
   * The warm-up before READY, when enabled. A failed one is logged and READY follows anyway: the
   * engine passed its health check, and a request will say what is wrong better than a restart loop.
   */
  private async warmUp(
    endpoint: EngineEndpoint,
    loadMs: number,
  ): Promise<{ note: string; fields: Record<string, unknown> }> {
    if (this.options.warmup === false || this.stopping.signal.aborted) return { note: "", fields: {} };
    this.update("LOADING", "warming up: one short generation");
    try {
      const warmupMs = await warmUpEngine(endpoint, {
        embeddings: this.options.spec.embeddings,
        signal: this.stopping.signal,
      });
      this.options.onWarmedUp?.({ loadMs, warmupMs });
      return {
        note: `, warmed up in ${Math.round(warmupMs)} ms`,
        fields: { warmupMs: Math.round(warmupMs) },
      };
    } catch (error) {
      if (this.stopping.signal.aborted) return { note: "", fields: {} };
      this.options.logger.warn({ instance: this.options.spec.id, err: error }, "the engine's warm-up failed");
      return { note: `, warm-up failed: ${(error as Error).message.slice(0, 200)}`, fields: {} };
    }
  }

  /** Polls the health endpoint until it answers 200; false when the engine exits or stopping starts first. */
  private async waitUntilReady(engine: EngineProcess, baseUrl: string): Promise<boolean> {
    const deadline = Date.now() + (this.options.loadTimeoutMs ?? 600_000);
    const exited = engine.exited.then(() => false);
    while (!this.stopping.signal.aborted && engine.exitStatus === undefined) {
      if (Date.now() > deadline) {
        this.options.logger.error(
          { instance: this.options.spec.id },
          "engine did not become ready in time; stopping it",
        );
        await engine.stop();
        return false;
      }
      const healthy = await Promise.race([checkHealth(baseUrl), exited]);
      if (healthy) return true;
      await Promise.race([sleep(50), exited]);
    }
    return false;
  }

  private update(state: InstanceState, reason: string, changes: Partial<InstanceStatus> = {}): void {
    this.current = { ...this.current, ...changes, state, reason, since: new Date().toISOString() };
    this.options.onStatus(this.current);
  }
}

/** The `--rpc` endpoints in a command line, in order. */
function rpcEndpointsIn(args: string[]): string[] {
  const index = args.indexOf("--rpc");
  return index === -1 ? [] : (args[index + 1] ?? "").split(",");
}

async function checkHealth(baseUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    // Not listening yet, or busy loading: both mean "not ready".
    return false;
  }
}

/** A one-line reason for an exit, using the engine's own error message when it printed one. */
export function describeExit(exit: EngineExit, output: string[]): string {
  const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
  const errorLine = [...output]
    .reverse()
    .find((line) => line.startsWith("herd: ") || /error|failed|fatal|abort|cannot|could not/i.test(line));
  return errorLine ? `engine ${how}: ${errorLine.trim().slice(0, 300)}` : `engine ${how}`;
}
