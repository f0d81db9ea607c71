import { existsSync } from "node:fs";
import type { Command } from "commander";
import { addSettingOptions, flagSettingNames, settingOption, toConfigOverrides } from "../config-options.js";
import { exitOnCrash } from "../crash-handler.js";
import { localNode } from "../local-node.js";
import { renderBuildProgress } from "../render-build-progress.js";

/** How long a stop may take before the process exits anyway. */
const forcedExitMs = 15_000;

/** `herd start`: a node in the foreground, its flags those of the node's settings. */
export function addStartCommand(program: Command): void {
  const start = program
    .command("start")
    .description("run a herd node in the foreground (Ctrl-C stops it and every engine it started)");
  addSettingOptions(
    start,
    flagSettingNames.filter((name) => name !== "backend"),
  )
    .option("--env-file <path>", "read NAME=value variables (secrets) from this file, when it exists")
    .addOption(settingOption("backend"))
    .action(async (options: Record<string, unknown>, command: Command) => {
      const envFile = options.envFile as string | undefined;
      // Variables already set win over the file's, as with systemd's EnvironmentFile.
      if (envFile && existsSync(envFile)) process.loadEnvFile(envFile);
      const overrides = toConfigOverrides(command);
      const { startNode } = await localNode();
      let requestStop = () => {};
      const started = await startNode(overrides, {
        onBuildProgress: renderBuildProgress(),
        onStopRequested: () => requestStop(),
      });
      process.stderr.write(
        `herd is serving on ${started.url}  (OpenAI API at ${started.url}/v1, Anthropic at ${started.url}, Ollama at ${started.url}/api)\n`,
      );
      if (started.config.ollamaPort !== undefined) {
        process.stderr.write(`Ollama clients also reach it on port ${started.config.ollamaPort}\n`);
      }
      // The token is a secret: shown on a terminal, but kept out of a log that stderr may be.
      if (!overrides.joinToken && process.stderr.isTTY)
        process.stderr.write(`join this cluster with  herd start --join ${started.joinToken}\n`);
      else if (!overrides.joinToken)
        process.stderr.write("to add machines, get the join token with 'herd join-token' (it is a secret)\n");
      process.on("exit", () => started.killEnginesNow());
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          // A second Ctrl-C: the exit handler above still kills the engines.
          process.stderr.write(`\n${signal} again: stopping now\n`);
          process.exit(1);
        }
        stopping = true;
        process.stderr.write(`\n${signal}: stopping herd and its engines...\n`);
        const force = setTimeout(() => process.exit(1), forcedExitMs);
        force.unref();
        void started.dispose().then(() => process.exit(0));
      };
      // Kept registered (not `once`) while the node stops: a dependency loaded later may add its own
      // handler (node-llama-cpp brings `signal-exit`), which sends the signal again, killing the
      // process before its engines are stopped, when it finds no other handler left.
      process.on("SIGINT", () => stop("SIGINT"));
      process.on("SIGTERM", () => stop("SIGTERM"));
      requestStop = () => stop("herd stop");
      exitOnCrash(() => started.killEnginesNow());
    });
}
