import { createReadStream } from "node:fs";
import type { EngineInstall } from "../protocol/engine.js";

/**
 * ggml-rpc-server prints `transport : TCP (RDMA auto-negotiate enabled)` at start only when it was
 * compiled with GGML_RPC_RDMA, which llama.cpp's CMake turns on when it finds librdma (macOS 26.2+)
 * or libibverbs (Linux) at configure time; a build without it holds only `transport : TCP`.
 */
const rdmaBuildMarker = Buffer.from("RDMA auto-negotiate enabled");

/** Whether a ggml-rpc-server binary's bytes show it was built with the RDMA transport. */
export function isBuiltWithRdma(binary: Buffer): boolean {
  return binary.includes(rdmaBuildMarker);
}

/**
 * Whether this engine's RPC can use RDMA; false where its binary cannot be read. The binary is
 * scanned in chunks: a static CUDA build is hundreds of megabytes.
 */
export async function detectEngineRdma(install: Pick<EngineInstall, "rpcServer">): Promise<boolean> {
  let carried = Buffer.alloc(0);
  try {
    for await (const chunk of createReadStream(install.rpcServer, { highWaterMark: 1 << 20 })) {
      const window = Buffer.concat([carried, chunk as Buffer]);
      if (isBuiltWithRdma(window)) return true;
      // Keep the tail, so a marker split across two chunks is still found.
      carried = window.subarray(window.length - (rdmaBuildMarker.length - 1));
    }
  } catch {
    // An unreadable binary cannot start either; the engine's own checks report that, not this one.
    return false;
  }
  return false;
}
