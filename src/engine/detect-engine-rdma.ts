import { readFile } from "node:fs/promises";
import type { EngineInstall } from "../protocol/engine.js";

/**
 * ggml-rpc-server prints `transport : TCP (RDMA auto-negotiate enabled)` at start only when it was
 * compiled with GGML_RPC_RDMA, which llama.cpp's CMake turns on when it finds librdma (macOS 26.2+)
 * or libibverbs (Linux) at configure time; a build without it holds only `transport : TCP`.
 */
const rdmaBuildMarker = "RDMA auto-negotiate enabled";

/** Whether a ggml-rpc-server binary's bytes show it was built with the RDMA transport. */
export function isBuiltWithRdma(binary: Buffer): boolean {
  return binary.includes(rdmaBuildMarker);
}

/** Whether this engine's RPC can use RDMA; false where its binary cannot be read. */
export async function detectEngineRdma(install: Pick<EngineInstall, "rpcServer">): Promise<boolean> {
  // An unreadable binary cannot start either; the engine's own checks report that, not this one.
  const binary = await readFile(install.rpcServer).catch(() => undefined);
  return binary !== undefined && isBuiltWithRdma(binary);
}
