import cliProgress from "cli-progress";
import { formatBytes, formatDuration } from "../util/format.js";

/** A progress display: a live bar on a terminal, a line every few seconds in logs and CI. */
export interface ProgressDisplay {
  update(completed: number, total: number): void;
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
            ? `${label} [{bar}] {percentage}% | {done} / {size} | {speed}/s | ETA {eta_formatted}`
            : `${label} [{bar}] {percentage}% | {duration_formatted}`,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(100, 0, { done: "0 B", size: "?", speed: "0 B" });
    return {
      update(completed, total) {
        const seconds = Math.max((Date.now() - started) / 1000, 0.001);
        bar.setTotal(total);
        bar.update(completed, {
          done: formatBytes(completed),
          size: formatBytes(total),
          speed: formatBytes(completed / seconds),
        });
      },
      stop: () => bar.stop(),
    };
  }
  let lastPrinted = 0;
  return {
    update(completed, total) {
      const now = Date.now();
      if (now - lastPrinted < 5000 && completed < total) return;
      lastPrinted = now;
      const percent = total > 0 ? Math.floor((completed / total) * 100) : 0;
      const amount = unit === "bytes" ? ` (${formatBytes(completed)} / ${formatBytes(total)})` : "";
      process.stderr.write(`${label} ${percent}%${amount}, ${formatDuration(now - started)} elapsed\n`);
    },
    stop() {},
  };
}
