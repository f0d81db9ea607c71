import type { Command } from "commander";
import { z } from "zod";
import { formatDuration } from "../../util/format.js";
import { positiveInteger } from "../argument-parsers.js";
import { settingOption, toConfigOverrides } from "../config-options.js";
import { localNode } from "../local-node.js";
import { print } from "../print.js";
import { renderBuildProgress } from "../render-build-progress.js";
import { addEngineCalibrateCommand } from "./engine-calibrate.js";

const BuildFlags = z.object({ force: z.boolean().optional(), jobs: z.number().optional() });
const InfoFlags = z.object({ json: z.boolean().optional() });

/** `herd engine build|info`: the llama.cpp engine this machine runs. */
export function addEngineCommands(program: Command): void {
  const engine = program.command("engine").description("the llama.cpp engine: build it, inspect it");
  addEngineCalibrateCommand(engine);

  engine
    .command("build")
    .description(
      "build llama-server and ggml-rpc-server from the pinned llama.cpp source (reused when already built)",
    )
    .addOption(settingOption("backend"))
    .option("--force", "build again even if a build exists")
    .option("--jobs <n>", "parallel compile jobs", positiveInteger("jobs"))
    .option("--home <dir>", "state folder (HERD_HOME)")
    .action(async (raw: Record<string, unknown>, command: Command) => {
      const options = BuildFlags.parse(raw);
      const { buildEngineForMachine } = await localNode();
      const started = Date.now();
      const install = await buildEngineForMachine(toConfigOverrides(command, ["home", "backend"]), {
        force: options.force,
        jobs: options.jobs,
        onProgress: renderBuildProgress(),
        onBackend: (backend, reason) => process.stderr.write(`engine: backend ${backend} (${reason})\n`),
      });
      process.stdout.write(`${install.directory}\n`);
      process.stderr.write(`engine: ready (${install.version}) in ${formatDuration(Date.now() - started)}\n`);
    });

  engine
    .command("info")
    .description("show the engine this machine uses, its devices and any workaround herd applies")
    .option("--json", "print JSON")
    .option("--home <dir>", "state folder (HERD_HOME)")
    .option("--engine-dir <dir>", "inspect llama.cpp binaries in this folder")
    .addOption(settingOption("backend"))
    .action(async (raw: Record<string, unknown>, command: Command) => {
      const options = InfoFlags.parse(raw);
      const { localEngineReport } = await localNode();
      const report = await localEngineReport(
        toConfigOverrides(command, ["home", "engineDirectory", "backend"]),
      );
      if (options.json) return print(JSON.stringify(report, null, 2));
      const lines = [
        `llama-server     ${report.install.llamaServer}`,
        `ggml-rpc-server  ${report.install.rpcServer}`,
        `version          ${report.install.version}`,
        `backend          ${report.install.backend} (${report.install.origin === "built" ? "built by herd" : "your binaries"})`,
        `devices          ${report.devices.length > 0 ? report.devices.join("; ") : "CPU only"}`,
        `workarounds      ${report.workarounds.length > 0 ? "" : "none"}`,
        ...report.workarounds.map(
          (workaround) => `  ${workaround.flag}: ${workaround.reason} (since ${workaround.since})`,
        ),
      ];
      print(lines.join("\n"));
    });
}
