import { createHash } from "node:crypto";
import type { ApiDependencies } from "./api-dependencies.js";
import { ollamaName } from "./model-names.js";
import { modelDetails } from "./ollama/model-details.js";

/** The aliases as `/v1/models` lists them, owned by herd; each answers like a model. */
export function openAIAliasModels(dependencies: ApiDependencies) {
  return (dependencies.aliases?.list().aliases ?? []).map((alias) => ({
    id: alias.name,
    object: "model" as const,
    created: 0,
    owned_by: "herd-alias",
  }));
}

/**
 * The aliases as Ollama's `/api/tags` lists them: with the details of the model that serves each
 * now (when this node holds it), so that clients that show sizes and families have some.
 */
export async function ollamaAliasTags(dependencies: ApiDependencies) {
  const tags = [];
  for (const alias of dependencies.aliases?.list().aliases ?? []) {
    const serving = alias.serving ? await dependencies.models.get(alias.serving) : undefined;
    tags.push({
      name: ollamaName(alias.name),
      model: ollamaName(alias.name),
      modified_at: alias.switches.at(-1)?.at ?? new Date(0).toISOString(),
      size: serving?.sizeBytes ?? 0,
      digest: createHash("sha256")
        .update(`alias\n${alias.name}\n${alias.chain.join("\n")}`)
        .digest("hex"),
      details: serving
        ? { ...modelDetails(serving), parent_model: serving.name as string }
        : {
            parent_model: "",
            format: "gguf",
            family: "",
            families: null,
            parameter_size: "",
            quantization_level: "",
          },
    });
  }
  return tags;
}
