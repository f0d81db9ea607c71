import { randomBytes } from "node:crypto";
import { draftIncompatibility } from "../models/draft-compatibility.js";
import type { ModelStore } from "../models/model-store.js";
import { InvalidRequestError, ModelCorruptError } from "../protocol/errors.js";
import { InstanceSpec, type InstanceStatus } from "../protocol/instance.js";
import type { ModelProfile } from "../protocol/model-profile.js";
import type { LoadRequest } from "./local-instances.js";

/**
 * The instance a load asks for, with the profiles of its model and draft from this node's store.
 * Throws when a file is missing or corrupt, or the draft cannot draft for the model.
 */
export async function specForLoad(
  models: ModelStore,
  request: LoadRequest,
): Promise<{ model: ModelProfile; spec: InstanceSpec; draft: ModelProfile | undefined }> {
  const model = await models.require(request.model);
  const draft = request.draft ? await models.require(request.draft) : undefined;
  for (const stored of [model, draft]) {
    if (stored?.verification?.state === "corrupt")
      throw new ModelCorruptError(stored.name, stored.verification.problem ?? "", stored.source);
  }
  if (draft) {
    const problem = draftIncompatibility(model, draft);
    if (problem) throw new InvalidRequestError(problem, "draft");
  }
  return { model, spec: specFromProfile(model, request, draft), draft };
}

/** The instance a load asks for, from a model's profile (one need not be in the store). */
export function specFromProfile(
  model: ModelProfile,
  request: LoadRequest,
  draft: ModelProfile | undefined,
): InstanceSpec {
  const parallel = request.parallel ?? 4;
  const contextSize = request.contextSize ?? Math.min(model.trainContextLength || 4096, 4096) * parallel;
  if (contextSize < parallel) {
    throw new InvalidRequestError("context size must be at least one token per slot", "contextSize");
  }
  return InstanceSpec.parse({
    id: `${model.name.replace(/[^A-Za-z0-9_-]/g, "-")}-${randomBytes(3).toString("hex")}`,
    model: model.name,
    contextSize,
    parallel,
    embeddings: request.embeddings ?? model.isEmbeddingModel,
    threads: request.threads,
    draft: draft?.name,
    draftMax: request.draftMax,
    createdAt: new Date().toISOString(),
  });
}

/** The status of an instance whose engine has not started yet. */
export function plannedStatus(spec: InstanceSpec): InstanceStatus {
  return {
    ...spec,
    state: "PLANNED",
    reason: "waiting to start",
    since: new Date().toISOString(),
    restarts: 0,
    workarounds: [],
  };
}
