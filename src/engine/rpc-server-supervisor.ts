import { connect } from "node:net";
import { join } from "node:path";
import type { EngineInstall } from "../protocol/engine.js";
import { Backoff, sleep } from "../util/backoff.js";
import { findFreePort } from "../util/free-port.js";
import type { Logger } from "../util/logger.js";
import { outsideRequest } from "../util/request-context.js";
import { type EngineExit, EngineProcess } from "./engine-process.js";
import { defaultEngineThreads } from "./engine-threads.js";
import { describeExit } from "./llama-server-supervisor.js";
import { forgetEnginePid, recordEnginePid } from "./reap-orphan-engines.js";

export type RpcServerState = "STARTING" | "READY" | "FAILED" | "STOPPING";

export interface RpcServerOptions {
  /** Names the process in logs and pid files, e.g. `<instance>-rpc`. */
  name: string;
  engine: EngineInstall;
  /** `127.0.0.1` when reached through herd's tunnel; a LAN address for `--rpc-transport direct`. */
  host: string;
  /** Default: the threads llama-server takes by itself here (`defaultEngineThreads`). */
  threads?: number;
  /** llama.cpp's RPC tensor cache lives here (`-c`), so reloading a model sends hashes, not tensors. */
  cacheDirectory: string;
  logDirectory: string;
  runDirectory: string;
  parentDeathWrapper?: string[];
  logger: Logger;
  onState: (state: RpcServerState, reason: string) => void;
  /** Each line the server logs (how its client connections negotiate their transport). */
  onLine?: (line: string) => void;
}

/**
 * Runs one ggml-rpc-server (a shard of a distributed instance) and keeps it running: READY once
 * its port accepts connections, restarted with backoff when it exits unasked.
 */
export class RpcServerSupervisor {
  private process: EngineProcess | undefined;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly backoff = new Backoff({ initialMs: 250, maxMs: 10_000 });
  private portValue: number | undefined;
  private stateValue: RpcServerState = "STARTING";

  constructor(private readonly options: RpcServerOptions) {}

  /** The port while READY. */
  get port(): number | undefined {
    return this.stateValue === "READY" ? this.portValue : undefined;
  }

  get host(): string {
    return this.options.host;
  }

  get state(): RpcServerState {
    return this.stateValue;
  }

  start(): void {
    this.loop ??= outsideRequest(() => this.run());
  }

  async dispose(): Promise<void> {
    if (!this.stopping.signal.aborted) {
      this.set("STOPPING", "no longer needed");
      this.stopping.abort();
    }
    await this.process?.stop();
    await this.loop;
  }

  killNow(): void {
    this.process?.killNow();
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      const port = await findFreePort(this.options.host);
      const args = ["--host", this.options.host, "--port", String(port), "--cache"];
      const threads = this.options.threads ?? (await defaultEngineThreads());
      if (threads !== undefined) args.push("--threads", String(threads));
      const started = Date.now();
      const counted = threads === undefined ? "" : `, ${threads} thread${threads === 1 ? "" : "s"}`;
      const on = `${this.options.host}:${port}${counted}`;
      this.set("STARTING", `starting ggml-rpc-server on ${on}`);
      const child = await EngineProcess.spawn({
        command: this.options.engine.rpcServer,
        args,
        logPath: join(this.options.logDirectory, `${this.options.name}.log`),
        onLine: this.options.onLine,
        parentDeathWrapper: this.options.parentDeathWrapper,
        env: { ...process.env, LLAMA_CACHE: this.options.cacheDirectory },
      });
      this.process = child;
      if (child.pid) await recordEnginePid(this.options.runDirectory, this.options.name, child.pid);
      if (await this.waitUntilListening(child, port)) {
        this.portValue = port;
        this.set("READY", `listening on ${this.options.host}:${port}`);
      }
      const exit: EngineExit = await child.exited;
      this.process = undefined;
      await forgetEnginePid(this.options.runDirectory, this.options.name);
      if (signal.aborted) break;
      const delay = this.backoff.nextDelay(Date.now() - started);
      this.set(
        "FAILED",
        `${describeExit(exit, child.recentOutput())}; restarting in ${(delay / 1000).toFixed(1)} s`,
      );
      try {
        await sleep(delay, signal);
      } catch {
        break;
      }
    }
  }

  private async waitUntilListening(child: EngineProcess, port: number): Promise<boolean> {
    const deadline = Date.now() + 30_000;
    while (!this.stopping.signal.aborted && child.exitStatus === undefined && Date.now() < deadline) {
      if (await canConnect(this.options.host, port)) return true;
      await sleep(25);
    }
    return false;
  }

  private set(state: RpcServerState, reason: string): void {
    this.stateValue = state;
    this.options.onState(state, reason);
  }
}

/**
 * Whether something accepts TCP connections there. The probe connection closes at once: the RPC
 * server treats a connection without a hello as a client that went away.
 */
export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
