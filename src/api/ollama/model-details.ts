import { createHash } from "node:crypto";
import type { TokenizerFacts } from "../../models/read-tokenizer-facts.js";
import type { ModelProfile } from "../../protocol/model-profile.js";
import { formatCount } from "../../util/format.js";

/** Ollama's `details` of a model. */
export function modelDetails(model: ModelProfile) {
  return {
    parent_model: "",
    format: "gguf",
    family: model.architecture,
    families: [model.architecture],
    parameter_size: formatCount(model.parameterCount),
    quantization_level: model.fileType.replace(/^MOSTLY_/, ""),
  };
}

/**
 * Ollama lists a digest per model. herd does not hash model files on import, so this one names the
 * registration (name, source, time): it changes when the model is imported again, like Ollama's.
 */
export function modelDigest(model: ModelProfile): string {
  return createHash("sha256").update(`${model.name}\n${model.source}\n${model.importedAt}`).digest("hex");
}

/** Ollama's `/api/show` answer for a model in the store. */
export function showResponse(model: ModelProfile, tokenizer: TokenizerFacts) {
  const architecture = model.architecture;
  const capabilities = model.isEmbeddingModel ? ["embedding"] : ["completion"];
  // Ollama's name for filling in the middle (`suffix`), which clients check before sending one.
  if (tokenizer.fillInMiddle && !model.isEmbeddingModel) capabilities.push("insert");
  return {
    license: "",
    modelfile: `# herd serves GGUF files directly; there is no Modelfile\nFROM ${model.file}\n`,
    parameters: "",
    // Ollama's template is a Go template; a GGUF's is Jinja, which herd's engine applies. A model
    // without one completes the prompt as written (Ollama's `{{ .Prompt }}`), shown as none.
    template: tokenizer.chatTemplate ?? "",
    details: modelDetails(model),
    model_info: {
      "general.architecture": architecture,
      "general.parameter_count": model.parameterCount,
      [`${architecture}.block_count`]: model.layerCount,
      [`${architecture}.context_length`]: model.trainContextLength,
      [`${architecture}.embedding_length`]: model.embeddingLength,
      [`${architecture}.attention.head_count`]: model.headCount,
      [`${architecture}.attention.head_count_kv`]: model.kvHeadCount,
    },
    capabilities,
    modified_at: model.importedAt,
  };
}
