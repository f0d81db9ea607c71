import { z } from "zod";
import { ModelName } from "./ids.js";

/** What herd knows about a model file: read once from its GGUF header at import. */
export const ModelProfile = z.object({
  name: ModelName,
  /** Path of the GGUF file inside the store. */
  file: z.string(),
  /** Where the file came from: the path it was imported from, `synth:<shape>`, or `hf:<repo>/<file>@<commit>`. */
  source: z.string(),
  /** How the store holds the file: a hard link or copy of the source, or a symbolic link to it. */
  storage: z.enum(["hardlink", "copy", "symlink", "written", "downloaded"]),
  /**
   * Every file of the model with its size and sha256 (split GGUFs have several; `file` is the first).
   * Recorded when the model is stored; absent for models stored by older versions until a peer
   * asks for them or `herd models verify` records them.
   */
  files: z
    .array(z.object({ name: z.string(), sizeBytes: z.number().int().nonnegative(), sha256: z.string() }))
    .optional(),
  sizeBytes: z.number().int().nonnegative(),
  architecture: z.string(),
  /** llama.cpp's file type name, e.g. `F32`, `MOSTLY_Q4_K_M`. */
  fileType: z.string(),
  parameterCount: z.number().int().nonnegative(),
  /** Transformer blocks (llama.cpp counts one more for the output layer when offloading). */
  layerCount: z.number().int().nonnegative(),
  /** Weight bytes of one transformer block, averaged. */
  bytesPerLayer: z.number().nonnegative(),
  /** Weight bytes outside the blocks (embeddings, output head). */
  nonLayerBytes: z.number().nonnegative(),
  /**
   * Weight bytes of the output matrix (`output.weight`), part of `nonLayerBytes`; 0 when the model ties
   * its output to the input embeddings. Absent for models stored before it was read.
   */
  outputWeightBytes: z.number().nonnegative().optional(),
  /** KV cache bytes per token of context (f16 cache, all layers). */
  kvBytesPerToken: z.number().nonnegative(),
  embeddingLength: z.number().int().nonnegative(),
  /** Width of a block's feed-forward network (0 where the header does not say); absent for models stored before it was read. */
  feedForwardLength: z.number().int().nonnegative().optional(),
  /** Experts per Mixture-of-Experts block (0 for a dense model). */
  expertCount: z.number().int().nonnegative().default(0),
  /** Experts each token is routed through (0 for a dense model). */
  expertUsedCount: z.number().int().nonnegative().default(0),
  /** Weight bytes of one block's expert tensors (`*_exps`), averaged; a token reads `expertUsedCount / expertCount` of them. */
  expertBytesPerLayer: z.number().nonnegative().default(0),
  headCount: z.number().int().nonnegative(),
  kvHeadCount: z.number().int().nonnegative(),
  trainContextLength: z.number().int().nonnegative(),
  hasChatTemplate: z.boolean(),
  /** The model names a pooling type: it is made for embeddings and is served with `--embeddings`. */
  isEmbeddingModel: z.boolean(),
  /** The tokenizer, to tell which models can draft for which (absent for models imported before it was read). */
  vocabulary: z
    .object({
      type: z.string(),
      size: z.number().int().nonnegative(),
      bosTokenId: z.number().int().optional(),
      eosTokenId: z.number().int().optional(),
      digest: z.string(),
    })
    .optional(),
  importedAt: z.string(),
  /** The last `herd models verify`: `corrupt` when a file no longer matches its recorded sha256. */
  verification: z
    .object({
      state: z.enum(["verified", "corrupt"]),
      checkedAt: z.string(),
      problem: z.string().optional(),
    })
    .optional(),
});
export type ModelProfile = z.infer<typeof ModelProfile>;
