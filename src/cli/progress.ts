import cliProgress from "cli-progress";
import { formatBytes, formatDuration } from "../util/format.js";

/** A progress display: a live bar on a terminal, a line every few seconds in logs and CI. */
export interface ProgressDisplay {
  /** `bytesPerSecond`: the recent speed when the caller knows it (else the average since the start). */
  update(completed: number, total: number, bytesPerSecond?: number): void;
  stop(): void;
}

/**
 * Shows progress of a long operation on stderr. `unit: "bytes"` shows sizes, speed and time left;
 * `unit: "percent"` shows a percentage and time elapsed.
 */
export function createProgressDisplay(label: string, unit: "bytes" | "percent"): ProgressDisplay {
  const started = Date.now();
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format:
          unit === "bytes"
            ? `${label} [{bar}] {percentage}% | {done} / {size} | {speed}/s | {left} left`
            : `${label} [{bar}] {percentage}% | {duration_formatted}`,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(100, 0, { done: "0 B", size: "?", speed: "0 B", left: "?" });
    return {
      update(completed, total, bytesPerSecond) {
        const seconds = Math.max((Date.now() - started) / 1000, 0.001);
        const speed = bytesPerSecond ?? completed / seconds;
        bar.setTotal(total);
        bar.update(completed, {
          done: formatBytes(completed),
          size: formatBytes(total),
          speed: formatBytes(speed),
          left: speed > 0 ? formatDuration(((total - completed) / speed) * 1000) : "?",
        });
      },
      stop: () => bar.stop(),
    };
  }
  let lastPrinted = 0;
  let finished = false;
  return {
    update(completed, total, bytesPerSecond) {
      const now = Date.now();
      if (now - lastPrinted < 5000 && completed < total) return;
      // The end is printed once, though phases after it (checking, registering) report it again.
      if (completed >= total && finished) return;
      finished = completed >= total;
      lastPrinted = now;
      const percent = total > 0 ? Math.floor((completed / total) * 100) : 0;
      const speed = bytesPerSecond === undefined ? "" : `, ${formatBytes(bytesPerSecond)}/s`;
      const amount = unit === "bytes" ? ` (${formatBytes(completed)} / ${formatBytes(total)}${speed})` : "";
      process.stderr.write(`${label} ${percent}%${amount}, ${formatDuration(now - started)} elapsed\n`);
    },
    stop() {},
  };
}
