import { describe, expect, it } from "vitest";
import { layerDispatchSeconds } from "../placement/cost-model.js";
import { type DecodeTiming, fitSelfMeasurement } from "./calibrate-engine.js";

const MB = 1e6;
const timing = (megabytes: number, milliseconds: number, layerCount = 4): DecodeTiming => ({
  bytesPerToken: megabytes * MB,
  layerCount,
  secondsPerToken: milliseconds / 1000,
});

describe("fitSelfMeasurement", () => {
  // Timings as llama-server reports them (`timings.predicted_ms / predicted_n`) for the two models.
  it.each([
    // 116 MB more took 11.6 ms more: 10 GB/s; 56 MB then take 5.6 ms of the 8.0, 4 blocks 0.2 ms.
    ["a CPU node", [timing(56, 8.0), timing(172, 19.6)], 10e9, 8.0e-3 - 5.6e-3 - 4 * layerDispatchSeconds],
    [
      "in either order",
      [timing(172, 19.6), timing(56, 8.0)],
      10e9,
      8.0e-3 - 5.6e-3 - 4 * layerDispatchSeconds,
    ],
    // A GPU: 116 MB in 0.145 ms more is 800 GB/s; the small model's 1.07 ms is nearly all overhead.
    [
      "a GPU node",
      [timing(56, 1.07), timing(172, 1.215)],
      800e9,
      1.07e-3 - 0.07e-3 - 4 * layerDispatchSeconds,
    ],
    // Time that the bytes and the dispatch already explain leaves no overhead, never a negative one.
    ["no overhead left", [timing(56, 5.6), timing(172, 17.2)], 10e9, 0],
  ] as const)("%s", (_, timings, bandwidth, overhead) => {
    const measured = fitSelfMeasurement(timings as unknown as [DecodeTiming, DecodeTiming], "engine@1", 7);
    expect(measured.bandwidthBytesPerSecond).toBeCloseTo(bandwidth, -3);
    expect(measured.tokenOverheadSeconds).toBeCloseTo(overhead, 9);
    expect(measured.engine).toBe("engine@1");
    expect(measured.measuredAt).toBe(7);
  });

  it("refuses timings where the larger model was not slower", () => {
    expect(() => fitSelfMeasurement([timing(56, 160), timing(172, 140)], "engine@1", 7)).toThrow(
      /larger calibration model decoded no slower \(140.00 ms against 160.00 ms/,
    );
  });
});
