import { describe, expect, it } from "vitest";
import { engineMemoryByPlace, parseBufferReport, rpcEndpointOf } from "./engine-memory-report.js";

describe("parseBufferReport", () => {
  it.each([
    [
      "0.00.011.690 I load_tensors:   CPU_Mapped model buffer size =     1.12 MiB",
      { buffer: "CPU_Mapped", kind: "weights", bytes: Math.round(1.12 * 2 ** 20) },
    ],
    [
      "0.00.012.028 I llama_kv_cache:        CPU KV buffer size =     0.16 MiB",
      { buffer: "CPU", kind: "kv", bytes: Math.round(0.16 * 2 ** 20) },
    ],
    [
      "0.00.013.910 I sched_reserve:        CPU compute buffer size =     0.88 MiB",
      { buffer: "CPU", kind: "compute", bytes: Math.round(0.88 * 2 ** 20) },
    ],
    [
      "load_tensors: RPC0[127.0.0.1:40123] model buffer size =   300.00 MiB",
      { buffer: "RPC0[127.0.0.1:40123]", kind: "weights", bytes: 300 * 2 ** 20 },
    ],
    [
      "llama_context:        CPU  output buffer size =     0.12 MiB",
      { buffer: "CPU", kind: "output", bytes: Math.round(0.12 * 2 ** 20) },
    ],
  ])("reads %s", (line, expected) => {
    expect(parseBufferReport(line)).toEqual(expected);
  });

  it("ignores every other line", () => {
    expect(parseBufferReport("srv  llama_server: model loaded")).toBeUndefined();
    expect(parseBufferReport("compute buffer size is 0.8 MiB, matches expectation")).toBeUndefined();
  });
});

describe("rpcEndpointOf", () => {
  const endpoints = ["127.0.0.1:40123", "10.0.0.2:50052"];
  it("finds the endpoint's position in --rpc", () => {
    expect(rpcEndpointOf("RPC0[10.0.0.2:50052]", endpoints)).toBe(1);
    expect(rpcEndpointOf("RPC1[127.0.0.1:40123]", endpoints)).toBe(0);
  });
  it("is undefined for the head's own buffers and unknown endpoints", () => {
    expect(rpcEndpointOf("CPU_Mapped", endpoints)).toBeUndefined();
    expect(rpcEndpointOf("RPC0[1.2.3.4:1]", endpoints)).toBeUndefined();
  });
});

describe("engineMemoryByPlace", () => {
  const mib = 2 ** 20;
  const report = (lines: string[]) =>
    lines.map((line) => parseBufferReport(line)).filter((buffer) => buffer !== undefined);

  it("sums the head's buffers and each RPC server's by kind", () => {
    const buffers = report([
      "load_tensors:   CPU_Mapped model buffer size =   100.00 MiB",
      "load_tensors: RPC0[10.0.0.2:50052] model buffer size =   300.00 MiB",
      "llama_kv_cache:        CPU KV buffer size =    16.00 MiB",
      "llama_kv_cache: RPC0[10.0.0.2:50052] KV buffer size =    48.00 MiB",
      "llama_context:        CPU  output buffer size =     1.00 MiB",
      "sched_reserve:        CPU compute buffer size =     9.00 MiB",
    ]);
    expect(engineMemoryByPlace(buffers, ["10.0.0.2:50052"])).toEqual([
      { weightBytes: 100 * mib, kvBytes: 16 * mib, computeBytes: 10 * mib },
      { rpcIndex: 0, weightBytes: 300 * mib, kvBytes: 48 * mib, computeBytes: 0 },
    ]);
  });

  it("counts weights repacked out of a mapped file once (as llama.cpp printed for a q4_0 model)", () => {
    const buffers = report([
      "0.00.144.199 I load_tensors:   CPU_Mapped model buffer size =   404.98 MiB",
      "0.00.144.201 I load_tensors:   CPU_REPACK model buffer size =   404.72 MiB",
      "0.01.343.799 I llama_kv_cache:        CPU KV buffer size =   128.00 MiB",
    ]);
    const [head] = engineMemoryByPlace(buffers, []);
    expect(head!.weightBytes).toBe(Math.round(404.98 * mib));
    expect(head!.kvBytes).toBe(128 * mib);
  });

  it("adds repacked copies to weights loaded without a mapping", () => {
    const buffers = report([
      "load_tensors:          CPU model buffer size =     2.00 MiB",
      "load_tensors:   CPU_REPACK model buffer size =   400.00 MiB",
    ]);
    expect(engineMemoryByPlace(buffers, [])[0]!.weightBytes).toBe(402 * mib);
  });
});
