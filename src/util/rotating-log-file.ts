import { closeSync, existsSync, fstatSync, mkdirSync, openSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";

/**
 * An append-only log file capped in size: once it passes `maxBytes`, it becomes `<path>.1` (replacing
 * the previous one) and a new file starts, so a node left running for weeks keeps at most twice
 * `maxBytes` of its log. Writes are synchronous so the last lines before a crash are on disk.
 */
export class RotatingLogFile {
  private descriptor: number | undefined;
  private size: number;

  constructor(
    readonly path: string,
    private readonly maxBytes = 16 * 1024 * 1024,
  ) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.descriptor = openSync(path, "a", 0o600);
    this.size = fstatSync(this.descriptor).size;
  }

  /** Appends one chunk (pino hands over whole lines). */
  write(chunk: string): void {
    if (this.descriptor === undefined) return;
    const bytes = Buffer.from(chunk);
    try {
      if (this.size > 0 && this.size + bytes.length > this.maxBytes) this.rotate();
      writeSync(this.descriptor!, bytes);
      this.size += bytes.length;
    } catch {
      // A full disk must not stop the node (or the engine it logs for): the line is lost, not the process.
    }
  }

  /** Closes the file. Safe to call twice. */
  end(): void {
    if (this.descriptor === undefined) return;
    closeSync(this.descriptor);
    this.descriptor = undefined;
  }

  private rotate(): void {
    closeSync(this.descriptor!);
    this.descriptor = undefined;
    try {
      renameSync(this.path, `${this.path}.1`);
    } catch {
      // Someone removed the file; a new one starts below either way.
    }
    this.descriptor = openSync(this.path, "a", 0o600);
    this.size = existsSync(this.path) ? fstatSync(this.descriptor).size : 0;
  }
}
