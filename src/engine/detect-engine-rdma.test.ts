import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectEngineRdma, isBuiltWithRdma } from "./detect-engine-rdma.js";

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

describe("detectEngineRdma", () => {
  it("finds the marker in a large binary, even split across two read chunks", async () => {
    const directory = await mkdtemp(join(tmpdir(), "herd-rdma-"));
    try {
      const marker = "RDMA auto-negotiate enabled";
      const split = Buffer.concat([
        Buffer.alloc((1 << 20) - 10, 0x41),
        Buffer.from(marker),
        Buffer.alloc(100),
      ]);
      const absent = Buffer.alloc(3 << 20, 0x41);
      await writeFile(join(directory, "split"), split);
      await writeFile(join(directory, "absent"), absent);
      expect(await detectEngineRdma({ rpcServer: join(directory, "split") })).toBe(true);
      expect(await detectEngineRdma({ rpcServer: join(directory, "absent") })).toBe(false);
      expect(await detectEngineRdma({ rpcServer: join(directory, "missing") })).toBe(false);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
