import type { PlacementModel } from "./placement-types.js";

/** A Q4_K_M-ish dense llama for planner tests: 4.5 bits per weight, 128256-token vocabulary, 8 KV heads of 128. */
export function denseModel(
  name: string,
  billions: number,
  layerCount: number,
  embeddingLength: number,
): PlacementModel {
  const nonLayerBytes = 2 * 128256 * embeddingLength * 0.5625;
  const sizeBytes = billions * 1e9 * 0.5625;
  return {
    name,
    architecture: "llama",
    sizeBytes,
    parameterCount: billions * 1e9,
    layerCount,
    bytesPerLayer: (sizeBytes - nonLayerBytes) / layerCount,
    nonLayerBytes,
    kvBytesPerToken: layerCount * 8 * 256 * 2,
    embeddingLength,
    headCount: embeddingLength / 128,
    expertCount: 0,
    expertUsedCount: 0,
    expertBytesPerLayer: 0,
  };
}

export const llama8B = denseModel("llama-8b", 8, 32, 4096);
export const llama70B = denseModel("llama-70b", 70, 80, 8192);

/** The shared real model's profile (`readGgufFacts` of stories260K-f32.gguf). */
export const stories260K: PlacementModel = {
  name: "stories260K",
  architecture: "llama",
  sizeBytes: 1185376,
  parameterCount: 292800,
  layerCount: 5,
  bytesPerLayer: 181760,
  nonLayerBytes: 262400,
  outputWeightBytes: 131072,
  kvBytesPerToken: 640,
  embeddingLength: 64,
  feedForwardLength: 172,
  headCount: 8,
  expertCount: 0,
  expertUsedCount: 0,
  expertBytesPerLayer: 0,
};
