import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { runCommand } from "../../src/engine/run-command.js";
import { buildEngineForMachine, loadConfig } from "../../src/main.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Folder with llama-server and ggml-rpc-server for the nodes under test. */
    engineDirectory: string;
    /** Where llama.cpp's source (for vocabularies) is cached. */
    engineCache: string;
    /** herd's command line, compiled from this tree's source for the run (`compileHerd`). */
    herdEntry: string;
  }
}

const repositoryRoot = new URL("../..", import.meta.url).pathname;

/**
 * Compiles `src/` into `.test-build/` (beside `src/`, so that paths relative to a module, such as
 * the dashboard's files, resolve the same), and returns the CLI's entry. Nodes and CLI calls under
 * test run herd compiled, as an installed package runs it: a node serves in about 0.8 s instead of
 * 1.4 s through tsx, and the suite starts nodes and the CLI hundreds of times. Compiled afresh each
 * run, so what runs is the source as it is.
 */
async function compileHerd(): Promise<string> {
  const outDir = join(repositoryRoot, ".test-build");
  const tsc = join(repositoryRoot, "node_modules/typescript/bin/tsc");
  const args = [tsc, "-p", "tsconfig.build.json", "--outDir", outDir, "--declaration", "false"];
  const result = await runCommand(process.execPath, args, { cwd: repositoryRoot, timeoutMs: 300_000 });
  if (result.code !== 0)
    throw new Error(`compiling herd for the tests failed:\n${result.stdout}${result.stderr}`);
  return join(outDir, "cli/main.js");
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
  project.provide("herdEntry", await compileHerd());
  project.provide("engineDirectory", directory);
  project.provide("engineCache", config.engineCache);
}
