import { closeSync, fstatSync, openSync, renameSync, writeSync } from "node:fs";

/** An engine log may grow by a few kB per request; this keeps it and one older file to ~2× the cap. */
export const defaultLogCapBytes = 16 * 1024 * 1024;

/**
 * An append-only log file that never grows past `capBytes`: when it would, it becomes `<path>.1`
 * (replacing the previous one) and a new file starts. Engines that serve for weeks must not fill
 * the disk, and the newest lines are the ones a person debugging a failure needs. Writes are
 * synchronous (a line is one small `write`), so a rotation can never reorder or lose lines.
 */
export class CappedLogFile {
  private descriptor: number | undefined;
  private size: number;

  constructor(
    private readonly path: string,
    private readonly capBytes = defaultLogCapBytes,
  ) {
    this.descriptor = openSync(path, "a");
    this.size = fstatSync(this.descriptor).size;
  }

  write(text: string): void {
    if (this.descriptor === undefined) return;
    const bytes = Buffer.from(text);
    try {
      if (this.size > 0 && this.size + bytes.length > this.capBytes) this.rotate();
      writeSync(this.descriptor!, bytes);
      this.size += bytes.length;
    } catch {
      // A full disk or a removed folder loses log lines, never the engine: the process it logs for
      // matters more than its log.
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
      // Someone moved the file already: the new one simply starts fresh.
    }
    this.descriptor = openSync(this.path, "a");
    this.size = 0;
  }
}
