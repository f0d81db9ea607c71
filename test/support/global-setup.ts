import type { TestProject } from "vitest/node";
import { buildEngineForMachine, loadConfig } from "../../src/main.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Folder with llama-server and ggml-rpc-server for the nodes under test. */
    engineDirectory: string;
    /** Where llama.cpp's source (for vocabularies) is cached. */
    engineCache: string;
  }
}

/**
 * Process tests run real engines. They use the engine built for this machine (as `.ci/run` and
 * `herd engine build` leave it in ~/.herd/engine), building it first when there is none, so that
 * `npm test` works on a fresh checkout too. `HERD_TEST_ENGINE_DIR` points at other binaries.
 */
export default async function setup(project: TestProject): Promise<void> {
  const config = loadConfig({}, { ...process.env, HERD_ENGINE_DIR: undefined });
  let directory = process.env.HERD_TEST_ENGINE_DIR;
  if (!directory) {
    const install = await buildEngineForMachine(
      {},
      {
        onProgress: (progress) => {
          if (progress.type === "step-start") process.stderr.write(`engine: ${progress.message}...\n`);
          if (progress.type === "compile-progress" && progress.percent % 10 === 0) {
            process.stderr.write(`engine: compiling ${progress.percent}%\n`);
          }
        },
      },
    );
    directory = install.directory;
  }
  project.provide("engineDirectory", directory);
  project.provide("engineCache", config.engineCache);
}
