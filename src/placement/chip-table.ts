/** A chip's peak memory bandwidth and compute, as its maker publishes them (or derived, where noted). */
export interface ChipFigures {
  /** The name matched, e.g. `Apple M3 Ultra`. */
  chip: string;
  bandwidthBytesPerSecond: number;
  flopsPerSecond: number;
}

const GB = 1e9;
const TFLOPS = 1e12;

/**
 * Known chips: [name as it appears in a CPU model or device description, GB/s, FP32 TFLOPS].
 * Names match as whole words, case-insensitively, longest first ("RTX 4070 Ti" before "RTX 4070").
 *
 * Apple: bandwidth from Apple's tech specs pages. TFLOPS: Apple's own figures for M1 and M2 (GPU FP32);
 * for M3 and M4, which Apple did not publish, GPU cores × 128 FP32 lanes × 2 FLOP × clock (about
 * 1.38 GHz M3, 1.58 GHz M4). Where a chip is sold in bins with different bandwidth (M3 Max 300/400,
 * M4 Max 410/546), the lower figure: the name does not say which bin.
 * NVIDIA and AMD: bandwidth and FP32 (non-tensor) TFLOPS from their product spec sheets; datacentre
 * parts take their PCIe variant (the lower). FP32 understates tensor-core prefill, on purpose.
 */
const knownChips: Array<[string, number, number]> = [
  ["Apple M1", 68.25, 2.6],
  ["Apple M1 Pro", 200, 5.2],
  ["Apple M1 Max", 400, 10.4],
  ["Apple M1 Ultra", 800, 21.2],
  ["Apple M2", 100, 3.6],
  ["Apple M2 Pro", 200, 6.8],
  ["Apple M2 Max", 400, 13.6],
  ["Apple M2 Ultra", 800, 27.2],
  ["Apple M3", 100, 3.5],
  ["Apple M3 Pro", 150, 6.4],
  ["Apple M3 Max", 300, 14.1],
  ["Apple M3 Ultra", 819, 28.3],
  ["Apple M4", 120, 4.0],
  ["Apple M4 Pro", 273, 8.1],
  ["Apple M4 Max", 410, 12.9],
  ["RTX 5090", 1792, 104.8],
  ["RTX 5080", 960, 56.3],
  ["RTX 4090", 1008, 82.6],
  ["RTX 4080", 717, 48.7],
  ["RTX 4070 Ti", 504, 40.1],
  ["RTX 4070", 504, 29.1],
  ["RTX 4060 Ti", 288, 22.1],
  ["RTX 4060", 272, 15.1],
  ["RTX 3090 Ti", 1008, 40.0],
  ["RTX 3090", 936, 35.6],
  ["RTX 3080", 760, 29.8],
  ["RTX 3070", 448, 20.3],
  ["RTX 3060", 360, 12.7],
  ["RTX A6000", 768, 38.7],
  ["RTX 6000 Ada", 960, 91.1],
  ["A100", 1555, 19.5],
  ["H100", 2000, 51.2],
  ["L40S", 864, 91.6],
  ["L4", 300, 30.3],
  ["T4", 320, 8.1],
  ["V100", 900, 14.0],
  // DGX Spark's GB10 superchip: 128 GB LPDDR5X at 273 GB/s.
  ["GB10", 273, 31.0],
  ["RX 7900 XTX", 960, 61.4],
  ["RX 7900 XT", 800, 51.5],
  ["MI300X", 5300, 163.4],
  // Ryzen AI Max (Strix Halo): 256-bit LPDDR5X-8000, 40 RDNA 3.5 CUs (Radeon 8060S).
  ["Ryzen AI Max", 256, 29.7],
  ["Radeon 8060S", 256, 29.7],
];

const matchers = knownChips
  .map(([chip, gigabytes, teraflops]) => ({
    pattern: new RegExp(`(^|[^A-Za-z0-9])${chip.replaceAll(" ", "\\s+")}($|[^A-Za-z0-9])`, "i"),
    figures: { chip, bandwidthBytesPerSecond: gigabytes * GB, flopsPerSecond: teraflops * TFLOPS },
  }))
  .sort((a, b) => b.figures.chip.length - a.figures.chip.length);

/** The figures of the first known chip named in `text` (a CPU model or device description). */
export function lookupChip(text: string): ChipFigures | undefined {
  return matchers.find((matcher) => matcher.pattern.test(text))?.figures;
}

/**
 * An Apple chip the table lacks (a newer generation): the base M-series figures, the slowest.
 */
export const unknownAppleChip: ChipFigures = {
  chip: "unknown Apple silicon",
  bandwidthBytesPerSecond: 100 * GB,
  flopsPerSecond: 3.5 * TFLOPS,
};

/** A GPU the table lacks: a mid-range discrete card (RTX 3060-ish), so as not to promise too much. */
export const unknownGpu: ChipFigures = {
  chip: "unknown GPU",
  bandwidthBytesPerSecond: 300 * GB,
  flopsPerSecond: 10 * TFLOPS,
};

/**
 * A CPU the table lacks. Dual-channel DDR4-3200 peaks at 51.2 GB/s and STREAM reaches about 80% of
 * it: 40 GB/s. Compute: 50 GFLOPS per core (AVX2, two FMA units × 8 lanes × 2 FLOP × ~3 GHz is ~96
 * peak; llama.cpp's quantized kernels reach about half), 8 cores when the count is unknown.
 */
export function unknownCpu(cores: number | undefined): ChipFigures {
  return {
    chip: "unknown CPU",
    bandwidthBytesPerSecond: 40 * GB,
    flopsPerSecond: Math.max(1, cores ?? 8) * 50e9,
  };
}
