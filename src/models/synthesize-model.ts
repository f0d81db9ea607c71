import { SynthModelRequest } from "../protocol/management.js";
import type { ModelProfile } from "../protocol/model-profile.js";
import type { ModelStore } from "./model-store.js";
import { writeSynthModel } from "./synth-model.js";

/** Writes a synthetic model of the requested shape into the store, so tests and benchmarks need no download. */
export async function synthesizeModel(
  options: {
    models: ModelStore;
    /** The engine's vocabulary file of that name (its tokenizer is what a synthetic model carries). */
    vocabPathOf: (vocabulary: string) => Promise<string>;
    onImported: (profile: ModelProfile) => void;
  },
  request: SynthModelRequest,
  onProgress: (written: number, total: number) => void,
  signal: AbortSignal,
): Promise<ModelProfile> {
  const shape = SynthModelRequest.parse(request);
  const vocabPath = await options.vocabPathOf(shape.vocabulary);
  const description = `synth:${shape.layers}x${shape.embedding}-ff${shape.feedForward}-h${shape.heads}/${shape.kvHeads}-${shape.type}-seed${shape.seed}${shape.blockScale ? `-scale${shape.blockScale}` : ""}${shape.contextLength === 2048 ? "" : `-ctx${shape.contextLength}`}${shape.vocabulary === "llama-spm" ? "" : `-${shape.vocabulary}`}`;
  const profile = await options.models.create(shape.name, `${shape.name}.gguf`, description, (target) =>
    writeSynthModel(
      {
        outputPath: target,
        vocabPath,
        name: shape.name,
        layerCount: shape.layers,
        embeddingLength: shape.embedding,
        feedForwardLength: shape.feedForward,
        headCount: shape.heads,
        keyValueHeadCount: shape.kvHeads,
        weightType: shape.type,
        contextLength: shape.contextLength,
        seed: shape.seed,
        blockScale: shape.blockScale,
      },
      { signal, onProgress: (progress) => onProgress(progress.writtenBytes, progress.totalBytes) },
    ).then(() => undefined),
  );
  options.onImported(profile);
  return profile;
}
