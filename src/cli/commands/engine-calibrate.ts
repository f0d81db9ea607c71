import type { Command } from "commander";
import { positiveInteger } from "../argument-parsers.js";

/**
 * `herd engine calibrate`: measures this machine's engine (effective memory bandwidth and per-token
 * overhead) for the planner, now rather than in a node's background; a node with the same home
 * announces the figures.
 */
export function addEngineCalibrateCommand(engine: Command): void {
  engine
    .command("calibrate")
    .description("measure this machine's engine for the planner: memory bandwidth and per-token overhead")
    .option("--home <dir>", "state folder (HERD_HOME)")
    .option(
      "--engine-threads <n>",
      "measure on the threads the node's engines take (HERD_ENGINE_THREADS)",
      positiveInteger("engine threads"),
    )
    .action(async (options: { home?: string; engineThreads?: number }) => {
      const { calibrateLocalEngine } = await import("../../main.js");
      const overrides = { home: options.home, engineThreads: options.engineThreads };
      const measured = await calibrateLocalEngine(overrides, () =>
        process.stderr.write(
          "another herd process on this machine is measuring its engine; waiting for it\n",
        ),
      );
      process.stdout.write(
        `bandwidth        ${(measured.bandwidthBytesPerSecond / 1e9).toFixed(2)} GB/s (weights read per second of decode)\n` +
          `token overhead   ${(measured.tokenOverheadSeconds * 1000).toFixed(2)} ms per token\n` +
          `engine           ${measured.engine}\n`,
      );
    });
}
