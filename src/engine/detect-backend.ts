import { access } from "node:fs/promises";
import type { Backend } from "../protocol/engine.js";
import { findExecutable } from "./find-executable.js";
import { runCommand } from "./run-command.js";

export type { Backend };

/** The backend chosen for this machine, and why (shown by `herd engine build` and `herd engine info`). */
export interface BackendChoice {
  backend: Backend;
  reason: string;
}

/**
 * Picks the fastest backend this machine can both build and run. A toolkit alone is not enough:
 * CUDA's compiler is often installed on machines without an NVIDIA GPU, and building for it there
 * gives an engine that cannot start.
 */
export async function detectBackend(): Promise<BackendChoice> {
  if (process.platform === "darwin" && process.arch === "arm64") {
    return { backend: "metal", reason: "Apple Silicon" };
  }
  const nvcc = await findExecutable("nvcc", ["/usr/local/cuda/bin"]);
  if (nvcc) {
    const gpus = await countNvidiaGpus();
    if (gpus > 0) return { backend: "cuda", reason: `${gpus} NVIDIA GPU(s) and nvcc at ${nvcc}` };
  }
  const hipcc = await findExecutable("hipcc", ["/opt/rocm/bin"]);
  if (hipcc && (await exists("/dev/kfd")))
    return { backend: "hip", reason: `ROCm (hipcc at ${hipcc}) and /dev/kfd` };
  const glslc = await findExecutable(
    "glslc",
    process.env.VULKAN_SDK ? [`${process.env.VULKAN_SDK}/bin`] : [],
  );
  if (glslc && (await exists("/dev/dri")))
    return { backend: "vulkan", reason: `Vulkan SDK (glslc at ${glslc}) and a GPU device` };
  const why = nvcc
    ? "nvcc was found but no NVIDIA GPU answered nvidia-smi"
    : "no GPU toolkit with a matching device was found";
  return { backend: "cpu", reason: why };
}

async function countNvidiaGpus(): Promise<number> {
  const smi = await findExecutable("nvidia-smi");
  if (!smi) return 0;
  const result = await runCommand(smi, ["-L"], { timeoutMs: 10_000 }).catch(() => undefined);
  if (result?.code !== 0) return 0;
  return result.stdout.split("\n").filter((line) => line.startsWith("GPU ")).length;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** CMake flags that turn a backend on. */
export function backendCmakeFlags(backend: Backend): string[] {
  switch (backend) {
    case "cpu":
      return process.platform === "darwin" ? ["-DGGML_METAL=OFF"] : [];
    case "metal":
      return ["-DGGML_METAL=ON"];
    case "cuda":
      return ["-DGGML_CUDA=ON"];
    case "vulkan":
      return ["-DGGML_VULKAN=ON"];
    case "hip":
      return ["-DGGML_HIP=ON"];
  }
}
