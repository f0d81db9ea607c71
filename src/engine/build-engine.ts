import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { access, copyFile, mkdir, rename, rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { type BuildProgress, type BuildStep, EngineInstall } from "../protocol/engine.js";
import { EngineUnavailableError } from "../protocol/errors.js";
import { withFolderLock } from "../util/folder-lock.js";
import { readJsonFile, writeJsonAtomic } from "../util/json-file.js";
import { readLines } from "../util/line-decoder.js";
import { type Backend, backendCmakeFlags } from "./detect-backend.js";
import { checkoutEngineSource, installHint, locateEngineSource } from "./engine-source.js";
import { findExecutable } from "./find-executable.js";
import { probeEngine } from "./probe-engine.js";

export interface BuildOptions {
  /** Where builds and sources are kept (`HERD_HOME/engine` unless `HERD_ENGINE_CACHE` says otherwise). */
  cacheDirectory: string;
  backend: Backend;
  /** Build again even if a build exists. Default false. */
  force?: boolean;
  /** Parallel compile jobs. Default: the number of cores. */
  jobs?: number;
  signal?: AbortSignal;
  onProgress?: (progress: BuildProgress) => void;
}

/** Flags for every build: RPC on, nothing that reaches the network, only what herd runs. */
const commonFlags = [
  "-DCMAKE_BUILD_TYPE=Release",
  "-DGGML_RPC=ON",
  "-DBUILD_SHARED_LIBS=OFF",
  "-DLLAMA_OPENSSL=OFF",
  "-DLLAMA_BUILD_TESTS=OFF",
  "-DLLAMA_BUILD_EXAMPLES=OFF",
  "-DLLAMA_BUILD_UI=OFF",
  "-DLLAMA_USE_PREBUILT_UI=OFF",
];
const targets = ["llama-server", "ggml-rpc-server"];

/** The folder a build of this source and backend lives in. */
export function engineBuildDirectory(cacheDirectory: string, version: string, backend: Backend): string {
  return join(cacheDirectory, `${version}-${backend}`);
}

/** Returns the existing build for this source and backend, if there is a complete one. */
export async function findBuiltEngine(
  cacheDirectory: string,
  backend: Backend,
): Promise<EngineInstall | undefined> {
  const source = await locateEngineSource();
  const directory = engineBuildDirectory(cacheDirectory, source.version, backend);
  const install = await readJsonFile(join(directory, "engine.json"), EngineInstall).catch(() => undefined);
  if (!install) return undefined;
  try {
    await access(install.llamaServer);
    await access(install.rpcServer);
    return install;
  } catch {
    return undefined;
  }
}

/**
 * Builds llama-server and ggml-rpc-server from the llama.cpp source that node-llama-cpp ships, into
 * `<cache>/<version>-<backend>/`, reusing a complete earlier build. The binaries and `engine.json`
 * appear only when the build succeeded; the full compiler output goes to `<cache>/logs/`.
 */
export async function buildEngine(options: BuildOptions): Promise<EngineInstall> {
  const { cacheDirectory, backend, onProgress = () => {} } = options;
  if (!options.force) {
    const existing = await findBuiltEngine(cacheDirectory, backend);
    if (existing) {
      onProgress({ type: "reused", install: existing });
      return existing;
    }
  }
  const cmake = await findExecutable("cmake");
  if (!cmake)
    throw new EngineUnavailableError(
      "cmake is needed to build llama.cpp and was not found",
      installHint("cmake"),
    );
  const compiler =
    (await findExecutable("c++")) ?? (await findExecutable("g++")) ?? (await findExecutable("clang++"));
  if (!compiler)
    throw new EngineUnavailableError(
      "a C++ compiler is needed to build llama.cpp and none was found",
      installHint("compiler"),
    );

  const source = await locateEngineSource();
  const key = `${source.version}-${backend}`;
  await mkdir(cacheDirectory, { recursive: true });
  return withFolderLock(
    join(cacheDirectory, `${key}.lock`),
    () => onProgress({ type: "waiting", message: `another herd process is building ${key}; waiting for it` }),
    async () => {
      // The other process may have finished the same build while we waited.
      const finished = options.force ? undefined : await findBuiltEngine(cacheDirectory, backend);
      if (finished) {
        onProgress({ type: "reused", install: finished });
        return finished;
      }
      const logDirectory = join(cacheDirectory, "logs");
      await mkdir(logDirectory, { recursive: true });
      const logPath = join(logDirectory, `build-${key}.log`);
      const log = createWriteStream(logPath);
      try {
        const step = async <T>(name: BuildStep, message: string, work: () => Promise<T>): Promise<T> => {
          const started = Date.now();
          onProgress({ type: "step-start", step: name, message });
          const result = await work();
          onProgress({ type: "step-end", step: name, elapsedMs: Date.now() - started });
          return result;
        };
        const sourceDirectory = await step("source", `unpacking llama.cpp ${source.version}`, () =>
          checkoutEngineSource(source, cacheDirectory),
        );
        const buildDirectory = join(cacheDirectory, "build", key);
        const cmakeFlags = [...commonFlags, ...backendCmakeFlags(backend)];
        await step("configure", `configuring for ${backend}`, () =>
          runLogged(
            cmake,
            ["-S", sourceDirectory, "-B", buildDirectory, ...cmakeFlags],
            log,
            logPath,
            options.signal,
          ),
        );
        const jobs = options.jobs ?? availableParallelism();
        await step("compile", `compiling ${targets.join(" and ")} with ${jobs} jobs`, () =>
          runLogged(
            cmake,
            ["--build", buildDirectory, "--config", "Release", "--target", ...targets, "-j", String(jobs)],
            log,
            logPath,
            options.signal,
            (line) => {
              const match = /^\[\s*(\d+)%\]/.exec(line);
              if (match) onProgress({ type: "compile-progress", percent: Number(match[1]), line });
            },
          ),
        );
        return await step("install", "installing the binaries", async () => {
          const target = engineBuildDirectory(cacheDirectory, source.version, backend);
          const staging = `${target}.partial-${process.pid}`;
          await rm(staging, { recursive: true, force: true });
          await mkdir(staging, { recursive: true });
          const extension = process.platform === "win32" ? ".exe" : "";
          for (const name of targets) {
            const built = await findBuiltBinary(buildDirectory, `${name}${extension}`);
            await copyFile(built, join(staging, `${name}${extension}`));
          }
          await rm(target, { recursive: true, force: true });
          await rename(staging, target);
          const llamaServer = join(target, `llama-server${extension}`);
          const rpcServer = join(target, `ggml-rpc-server${extension}`);
          const probe = await probeEngine(llamaServer, rpcServer);
          const install: EngineInstall = {
            directory: target,
            llamaServer,
            rpcServer,
            version: probe.version,
            commit: source.commit,
            backend,
            origin: "built",
            builtAt: new Date().toISOString(),
            cmakeFlags,
          };
          await writeJsonAtomic(join(target, "engine.json"), install);
          // The build tree is several hundred MB and only the two binaries are needed from it.
          await rm(buildDirectory, { recursive: true, force: true });
          return install;
        });
      } finally {
        await new Promise((resolve) => log.end(resolve));
      }
    },
    options.signal,
  );
}

async function findBuiltBinary(buildDirectory: string, name: string): Promise<string> {
  for (const candidate of [join(buildDirectory, "bin", name), join(buildDirectory, "bin", "Release", name)]) {
    try {
      await access(candidate);
      return candidate;
    } catch {
      // Try the next layout (multi-config generators put binaries under Release/).
    }
  }
  throw new EngineUnavailableError(
    `the build finished but ${name} is not in ${buildDirectory}/bin`,
    "Run 'herd engine build --force'.",
  );
}

/** Runs a build command with its output in the log file; on failure the error quotes the log's tail. */
async function runLogged(
  command: string,
  args: string[],
  log: NodeJS.WritableStream,
  logPath: string,
  signal: AbortSignal | undefined,
  onLine: (line: string) => void = () => {},
): Promise<void> {
  log.write(`$ ${command} ${args.join(" ")}\n`);
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], signal });
  const tail: string[] = [];
  const consume = async (stream: AsyncIterable<Uint8Array>) => {
    for await (const line of readLines(stream)) {
      log.write(`${line}\n`);
      tail.push(line);
      if (tail.length > 25) tail.shift();
      onLine(line);
    }
  };
  const exit = new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  const [code] = await Promise.all([exit, consume(child.stdout), consume(child.stderr)]);
  if (code !== 0) {
    throw new EngineUnavailableError(
      `'${[command, ...args.slice(0, 3)].join(" ")} ...' failed (exit ${code}):\n${tail.join("\n")}`,
      `The full output is in ${logPath}.`,
    );
  }
}
