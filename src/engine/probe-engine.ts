import { EngineUnavailableError } from "../protocol/errors.js";
import { runCommand } from "./run-command.js";

/** Flags herd passes to llama-server; an engine without them cannot be driven. */
const requiredServerFlags = [
  "--alias",
  "--api-key-file",
  "--ctx-size",
  "--parallel",
  "--metrics",
  "--no-webui",
  "--rpc",
  "--tensor-split",
  "--split-mode",
];

export interface EngineProbe {
  /** As `llama-server --version` prints it, e.g. `0.5.0-dev (build 1, commit de3ff81)`. */
  version: string;
  /** Optional flags this engine has (workarounds depend on them). */
  supportsNoRepack: boolean;
}

/**
 * Checks that a pair of binaries is an engine herd can use: llama-server answers `--version` and
 * has every flag herd uses (RPC among them), and ggml-rpc-server runs. Says what is wrong otherwise.
 */
export async function probeEngine(llamaServer: string, rpcServer: string): Promise<EngineProbe> {
  const versionRun = await runCommand(llamaServer, ["--version"], { timeoutMs: 30_000 }).catch(
    (error: Error) => {
      throw new EngineUnavailableError(
        `cannot run ${llamaServer}: ${error.message}`,
        "Check that the file is a llama-server binary for this machine.",
      );
    },
  );
  const versionText = `${versionRun.stdout}\n${versionRun.stderr}`;
  const version = /version:\s*(.+)/.exec(versionText)?.[1]?.trim();
  if (!version) {
    throw new EngineUnavailableError(
      `${llamaServer} did not report a version (exit ${versionRun.code ?? versionRun.signal})`,
      "Point herd at a llama.cpp build that includes llama-server, or let herd build one with 'herd engine build'.",
    );
  }
  const help = await runCommand(llamaServer, ["--help"], { timeoutMs: 30_000 });
  const helpText = `${help.stdout}\n${help.stderr}`;
  const missing = requiredServerFlags.filter(
    (flag) => !new RegExp(`(^|[\\s,])${flag}([\\s,=]|$)`, "m").test(helpText),
  );
  if (missing.length > 0) {
    throw new EngineUnavailableError(
      `${llamaServer} (version ${version}) lacks ${missing.join(", ")}`,
      missing.includes("--rpc")
        ? "It was built without RPC: rebuild llama.cpp with -DGGML_RPC=ON, or let herd build one with 'herd engine build'."
        : "It is older than herd needs: update llama.cpp, or let herd build one with 'herd engine build'.",
    );
  }
  const rpcHelp = await runCommand(rpcServer, ["--help"], { timeoutMs: 30_000 }).catch((error: Error) => {
    throw new EngineUnavailableError(
      `cannot run ${rpcServer}: ${error.message}`,
      "Build llama.cpp with -DGGML_RPC=ON.",
    );
  });
  if (!/--port/.test(`${rpcHelp.stdout}${rpcHelp.stderr}`)) {
    throw new EngineUnavailableError(
      `${rpcServer} does not look like ggml-rpc-server`,
      "Build llama.cpp with -DGGML_RPC=ON.",
    );
  }
  return { version, supportsNoRepack: /--no-repack/.test(helpText) };
}

/** The compute devices llama-server sees (`--list-devices`), one description per line. */
export async function listEngineDevices(llamaServer: string): Promise<string[]> {
  const result = await runCommand(llamaServer, ["--list-devices"], { timeoutMs: 60_000 });
  const lines = `${result.stdout}\n${result.stderr}`.split("\n");
  const start = lines.findIndex((line) => /available devices/i.test(line));
  if (start === -1) return [];
  return lines
    .slice(start + 1)
    .map((line) => line.trim())
    .filter((line) => line !== "" && line !== "(none)" && !/^\d+\.\d+\.\d+/.test(line));
}
