import { randomBytes } from "node:crypto";
import { access, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { EngineUnavailableError } from "../protocol/errors.js";
import { findExecutable } from "./find-executable.js";
import { runCommand } from "./run-command.js";

/** The llama.cpp release that node-llama-cpp ships, pinned by package-lock.json. */
export interface EngineSource {
  /** node-llama-cpp's name for the release, e.g. `v0.5.0`. */
  release: string;
  /** Full commit hash of the bundled source. */
  commit: string;
  /** `<release>-<short commit>`: names build folders, so a new release never reuses an old build. */
  version: string;
  bundlePath: string;
}

/** Finds the bundled llama.cpp source and its version, without unpacking anything. */
export async function locateEngineSource(): Promise<EngineSource> {
  const entry = createRequire(import.meta.url).resolve("node-llama-cpp");
  const llamaDirectory = join(dirname(entry), "..", "llama");
  const bundlePath = join(llamaDirectory, "gitRelease.bundle");
  try {
    await access(bundlePath);
  } catch (error) {
    throw new EngineUnavailableError(
      `node-llama-cpp's bundled llama.cpp source is missing (${bundlePath})`,
      "Reinstall herd's dependencies with 'npm ci'.",
      { cause: error },
    );
  }
  const info = JSON.parse(await readFile(join(llamaDirectory, "llama.cpp.info.json"), "utf8")) as {
    tag?: string;
  };
  const git = await requireGit();
  const heads = await runCommand(git, ["bundle", "list-heads", bundlePath]);
  const commit = heads.stdout.trim().split(/\s+/)[0] ?? "";
  if (heads.code !== 0 || !/^[0-9a-f]{40}$/.test(commit)) {
    throw new EngineUnavailableError(
      `cannot read the llama.cpp source bundle: ${heads.stderr.trim()}`,
      "Reinstall with 'npm ci'.",
    );
  }
  const release = info.tag ?? "unknown";
  return { release, commit, version: `${release}-${commit.slice(0, 7)}`, bundlePath };
}

/** Checkouts under way in this process, by target: a synth and a self-measure may ask at once. */
const checkingOut = new Map<string, Promise<string>>();

/**
 * Makes a checkout of the bundled source under `cacheDirectory/src/<version>` (once; later calls
 * reuse it, and calls while it is made wait for it) and returns its path. The checkout appears whole
 * or not at all.
 */
export function checkoutEngineSource(source: EngineSource, cacheDirectory: string): Promise<string> {
  const target = join(cacheDirectory, "src", source.version);
  let checkout = checkingOut.get(target);
  if (!checkout) {
    checkout = checkOut(source, target).finally(() => checkingOut.delete(target));
    checkingOut.set(target, checkout);
  }
  return checkout;
}

async function checkOut(source: EngineSource, target: string): Promise<string> {
  const marker = join(target, ".herd-complete");
  try {
    await access(marker);
    return target;
  } catch {
    // Not there yet.
  }
  const git = await requireGit();
  // Another process may be unpacking the same version into the same cache.
  const temporary = `${target}.partial-${process.pid}-${randomBytes(4).toString("hex")}`;
  await rm(temporary, { recursive: true, force: true });
  await mkdir(dirname(target), { recursive: true });
  const clone = await runCommand(git, ["clone", "--quiet", "--no-hardlinks", source.bundlePath, temporary], {
    timeoutMs: 300_000,
  });
  if (clone.code !== 0) {
    await rm(temporary, { recursive: true, force: true });
    throw new EngineUnavailableError(
      `unpacking the llama.cpp source failed: ${clone.stderr.trim()}`,
      "Check free disk space.",
    );
  }
  await writeFile(join(temporary, ".herd-complete"), `${source.commit}\n`);
  await rm(target, { recursive: true, force: true });
  await rename(temporary, target);
  return target;
}

/** The path of a llama.cpp vocabulary file (`models/ggml-vocab-<name>.gguf`) from the bundled source. */
export async function engineVocabPath(cacheDirectory: string, vocabulary = "llama-spm"): Promise<string> {
  const checkout = await checkoutEngineSource(await locateEngineSource(), cacheDirectory);
  const path = join(checkout, "models", `ggml-vocab-${vocabulary}.gguf`);
  try {
    await access(path);
  } catch (error) {
    throw new EngineUnavailableError(
      `llama.cpp's source has no vocabulary '${vocabulary}'`,
      "Use llama-spm or llama-bpe.",
      {
        cause: error,
      },
    );
  }
  return path;
}

async function requireGit(): Promise<string> {
  const git = await findExecutable("git");
  if (!git) {
    throw new EngineUnavailableError(
      "git is needed to unpack llama.cpp's source and was not found",
      installHint("git"),
    );
  }
  return git;
}

/** How to install a build tool on this operating system. */
export function installHint(tool: "git" | "cmake" | "compiler"): string {
  if (process.platform === "darwin") {
    return tool === "cmake"
      ? "Install it with 'brew install cmake'."
      : "Install the Xcode command line tools: 'xcode-select --install'.";
  }
  if (process.platform === "win32")
    return "Install Visual Studio Build Tools with CMake and Git for Windows.";
  const packageName = tool === "compiler" ? "g++" : tool;
  return `Install it with 'sudo apt-get install ${packageName}' (Debian/Ubuntu) or 'sudo dnf install ${tool === "compiler" ? "gcc-c++" : tool}' (Fedora).`;
}
