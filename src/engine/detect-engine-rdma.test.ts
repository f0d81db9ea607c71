import { describe, expect, it } from "vitest";
import { isBuiltWithRdma } from "./detect-engine-rdma.js";

/** The string table around llama.cpp's ggml-rpc.cpp start-up lines, as each kind of build compiles it. */
const withRdma = Buffer.from(
  "\0Starting RPC server v%d.%d.%d\n\0  transport      : TCP (RDMA auto-negotiate enabled)\n\0",
);
const withoutRdma = Buffer.from("\0Starting RPC server v%d.%d.%d\n\0  transport      : TCP\n\0");

describe("isBuiltWithRdma", () => {
  it.each([
    ["a build with GGML_RPC_RDMA", withRdma, true],
    ["a build without it", withoutRdma, false],
    ["an empty file", Buffer.alloc(0), false],
  ])("%s", (_, binary, expected) => {
    expect(isBuiltWithRdma(binary)).toBe(expected);
  });
});
