import { access } from "node:fs/promises";
import { join } from "node:path";
import type { EngineInstall } from "../protocol/engine.js";
import { EngineUnavailableError } from "../protocol/errors.js";
import { findBuiltEngine } from "./build-engine.js";
import type { Backend } from "./detect-backend.js";
import { probeEngine } from "./probe-engine.js";

export interface ResolveEngineOptions {
  cacheDirectory: string;
  backend: Backend;
  /** Binaries the user already has (`HERD_ENGINE_DIR`, `--engine-dir`); they take precedence. */
  userDirectory?: string;
}

/** The engine this node runs: the user's binaries when given, otherwise herd's build for this backend. */
export async function resolveEngine(options: ResolveEngineOptions): Promise<EngineInstall> {
  if (options.userDirectory) return inspectUserEngine(options.userDirectory, options.backend);
  const built = await findBuiltEngine(options.cacheDirectory, options.backend);
  if (built) return built;
  throw new EngineUnavailableError(
    `no llama.cpp engine is built for the ${options.backend} backend yet`,
    "Run 'herd engine build' (about 5 minutes on 2 cores), or point HERD_ENGINE_DIR at llama.cpp binaries you have.",
  );
}

async function inspectUserEngine(directory: string, backend: Backend): Promise<EngineInstall> {
  const extension = process.platform === "win32" ? ".exe" : "";
  const llamaServer = await firstExisting(directory, [`llama-server${extension}`]);
  if (!llamaServer) {
    throw new EngineUnavailableError(
      `no llama-server in ${directory} (nor in its bin/ folder)`,
      "Set HERD_ENGINE_DIR to the folder holding llama-server and ggml-rpc-server, or unset it to use herd's own build.",
    );
  }
  const rpcServer = await firstExisting(directory, [`ggml-rpc-server${extension}`, `rpc-server${extension}`]);
  if (!rpcServer) {
    throw new EngineUnavailableError(
      `no ggml-rpc-server in ${directory}`,
      "llama.cpp must be built with -DGGML_RPC=ON; or unset HERD_ENGINE_DIR to use herd's own build.",
    );
  }
  const probe = await probeEngine(llamaServer, rpcServer);
  const commit = /commit ([0-9a-f]{7,40})/.exec(probe.version)?.[1];
  return { directory, llamaServer, rpcServer, version: probe.version, commit, backend, origin: "user" };
}

async function firstExisting(directory: string, names: string[]): Promise<string | undefined> {
  for (const folder of [directory, join(directory, "bin")]) {
    for (const name of names) {
      const path = join(folder, name);
      try {
        await access(path);
        return path;
      } catch {
        // Keep looking.
      }
    }
  }
  return undefined;
}
