import type { BuildProgress } from "../protocol/engine.js";
import { formatDuration } from "../util/format.js";
import { createProgressDisplay, type ProgressDisplay } from "./progress.js";

/** Shows an engine build as it goes: a line per step with its time, and a bar while compiling. */
export function renderBuildProgress(): (progress: BuildProgress) => void {
  let bar: ProgressDisplay | undefined;
  return (progress) => {
    switch (progress.type) {
      case "reused":
        process.stderr.write(`engine: using the existing build in ${progress.install.directory}\n`);
        break;
      case "waiting":
        process.stderr.write(`engine: ${progress.message}\n`);
        break;
      case "step-start":
        process.stderr.write(`engine: ${progress.message}...\n`);
        if (progress.step === "compile") bar = createProgressDisplay("engine: compiling", "percent");
        break;
      case "compile-progress":
        bar?.update(progress.percent, 100);
        break;
      case "step-end":
        if (progress.step === "compile") {
          bar?.stop();
          bar = undefined;
        }
        process.stderr.write(`engine: ${progress.step} done in ${formatDuration(progress.elapsedMs)}\n`);
        break;
    }
  };
}
