import type { PullProgress } from "../../protocol/management.js";

/** One line of Ollama's pull progress. */
export type PullStatusLine =
  | { status: string }
  | { status: string; digest: string; total: number; completed: number };

/**
 * Turns herd's pull progress into Ollama's status lines: `pulling manifest`, `pulling <digest>`
 * with total and completed bytes (at most ten lines a second, and always the last), `verifying
 * sha256 digest`, `writing manifest`, `success`. Each phase's line appears once, in that order,
 * even when a phase was reported more than once or skipped.
 */
export function pullStatusLines() {
  const phases = ["resolving", "downloading", "verifying", "registering", "done"] as const;
  let reached = -1;
  let lastProgressAt = Number.NEGATIVE_INFINITY;
  return {
    next(progress: PullProgress, now: number): PullStatusLine[] {
      const lines: PullStatusLine[] = [];
      const phase = phases.indexOf(progress.phase);
      // Every phase passed since the last report is announced (downloading has progress lines instead).
      for (let step = reached + 1; step <= phase; step++) {
        const text = statusOf(phases[step]!);
        if (text) lines.push({ status: text });
      }
      if (progress.phase === "downloading") {
        const first = phase > reached;
        const complete = progress.completed >= progress.total;
        if (first || complete || now - lastProgressAt >= 100) {
          lastProgressAt = now;
          const digest = progress.digest ?? `sha256:${progress.file ?? "model"}`;
          lines.push({
            status: `pulling ${digest.replace(/^sha256:/, "").slice(0, 12)}`,
            digest,
            total: progress.total,
            completed: progress.completed,
          });
        }
      }
      reached = Math.max(reached, phase);
      return lines;
    },
  };
}

function statusOf(phase: PullProgress["phase"]): string | undefined {
  switch (phase) {
    case "resolving":
      return "pulling manifest";
    case "verifying":
      return "verifying sha256 digest";
    case "registering":
      return "writing manifest";
    case "done":
      return "success";
    case "downloading":
      return undefined;
  }
}
