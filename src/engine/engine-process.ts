import { type ChildProcess, spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { LineDecoder } from "../util/line-decoder.js";
import { RotatingLogFile } from "../util/rotating-log-file.js";

export interface EngineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface EngineProcessOptions {
  command: string;
  args: string[];
  /** Both output streams are appended here, each line as the engine wrote it (size-capped, see RotatingLogFile). */
  logPath: string;
  /** Sees every line of output as it arrives (e.g. to read what the engine reports while loading). */
  onLine?: (line: string) => void;
  /** Wraps the command so the kernel kills it when herd dies, however herd dies. */
  parentDeathWrapper?: string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * One engine child process: its output goes to a log file (and the last lines stay in memory for
 * error reports), and `stop()` ends it for certain: SIGTERM, then SIGKILL after a grace period.
 */
export class EngineProcess {
  readonly exited: Promise<EngineExit>;
  private readonly recent: string[] = [];
  private exitValue: EngineExit | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly log: RotatingLogFile,
    private readonly onLine: ((line: string) => void) | undefined,
  ) {
    const outputDone = Promise.all([this.capture(child.stdout), this.capture(child.stderr)]);
    this.exited = new Promise<EngineExit>((resolve) => {
      child.on("error", (error) => {
        this.remember(`herd: could not start the engine: ${error.message}`);
        this.exitValue = { code: -1, signal: null };
        resolve(this.exitValue);
      });
      child.on("exit", (code, signal) => {
        this.exitValue = { code, signal };
        // Wait for the last output so the reason for the exit is in `recentOutput()`, but do not
        // wait for pipes that a grandchild may hold open.
        void Promise.race([outputDone, new Promise((r) => setTimeout(r, 500))]).then(() => {
          log.end();
          resolve(this.exitValue!);
        });
      });
    });
  }

  static async spawn(options: EngineProcessOptions): Promise<EngineProcess> {
    await mkdir(dirname(options.logPath), { recursive: true });
    const log = new RotatingLogFile(options.logPath);
    log.write(`--- ${new Date().toISOString()} herd starts: ${options.command} ${options.args.join(" ")}\n`);
    const [command, args] = options.parentDeathWrapper
      ? [
          options.parentDeathWrapper[0]!,
          [...options.parentDeathWrapper.slice(1), options.command, ...options.args],
        ]
      : [options.command, options.args];
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: options.env ?? process.env,
    });
    return new EngineProcess(child, log, options.onLine);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get exitStatus(): EngineExit | undefined {
    return this.exitValue;
  }

  /** The engine's last lines of output, oldest first. */
  recentOutput(): string[] {
    return [...this.recent];
  }

  /** Ends the process: SIGTERM, then SIGKILL if it has not exited within `graceMs`. Safe to call twice. */
  async stop(graceMs = 5000): Promise<EngineExit> {
    if (this.exitValue) return this.exited;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills without grace, synchronously: for the moment herd itself exits. */
  killNow(): void {
    if (!this.exitValue) this.child.kill("SIGKILL");
  }

  /**
   * Reads one output stream, a chunk at a time as it arrives: the engine writes some 25 lines for
   * every request (slot chosen, prompt evaluated, timings), and this runs on the node's event loop
   * next to the tokens of that request. So a chunk's lines are written to the log in one write, and
   * nothing waits on a promise per line. Resolves when the stream ends.
   *
   * It is read as it comes, never held back to be read in batches: Node's `pipe` stdio is a socket
   * pair, which holds about 280 small writes (each line is one), and llama.cpp's logging blocks the
   * thread that logs, its main loop too, once its queue of 512 lines is full. Read every 100 ms,
   * requests back to back took twice as long, the engine's main thread waiting to write.
   */
  private capture(stream: NodeJS.ReadableStream | null): Promise<void> {
    if (!stream) return Promise.resolve();
    const decoder = new LineDecoder();
    const take = (lines: string[]) => {
      if (lines.length === 0) return;
      this.log.write(`${lines.join("\n")}\n`);
      for (const line of lines) {
        this.remember(line);
        this.onLine?.(line);
      }
    };
    return new Promise((resolve) => {
      let broken = false;
      stream.on("data", (chunk: Uint8Array) => {
        if (broken) return;
        try {
          take(decoder.decode(chunk));
        } catch {
          // Output that is not valid UTF-8 is still in the engine; the log just misses its tail.
          broken = true;
        }
      });
      stream.once("end", () => {
        if (!broken) {
          try {
            take(decoder.flush());
          } catch {
            // A truncated last character: the last line is lost, as above.
          }
        }
        resolve();
      });
      stream.once("error", () => resolve());
    });
  }

  private remember(line: string): void {
    this.recent.push(line);
    if (this.recent.length > 60) this.recent.shift();
  }
}
