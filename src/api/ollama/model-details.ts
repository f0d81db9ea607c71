import { createHash } from "node:crypto";
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
