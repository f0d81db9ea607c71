import type { HubClient } from "../models/hub-client.js";
import { hubModels } from "../models/hub-files.js";
import { parseHubReference } from "../models/hub-reference.js";
import type { ModelStore } from "../models/model-store.js";
import { defaultModelName } from "../models/pull-model.js";
import { readRemoteGgufFacts } from "../models/read-model-profile.js";
import type { Plan } from "../placement/placement-types.js";
import {
  InvalidModelFileError,
  InvalidRequestError,
  ModelNotFoundError,
  NoPlacementError,
} from "../protocol/errors.js";
import type { FitCandidate, FitModelsRequest, FitReport } from "../protocol/management.js";
import { ModelProfile } from "../protocol/model-profile.js";
import type { LoadRequest } from "./local-instances.js";

export interface ModelFitOptions {
  store: ModelStore;
  hub: HubClient;
  /** `herd plan`'s answer for a stored model, and for a profile not (yet) in the store. */
  plan: (request: LoadRequest) => Promise<unknown>;
  planProfile: (model: ModelProfile, request: LoadRequest) => unknown;
  /** A node's name for its id. */
  nodeName: (id: string) => string;
}

/**
 * Which models fit the cluster as it is now, best first, each planned exactly as `herd plan` would:
 * every local model, one local model, or every quantization of a hub repository (its GGUF header
 * read through range requests, nothing downloaded).
 */
export async function fitModels(
  options: ModelFitOptions,
  request: FitModelsRequest,
  signal: AbortSignal,
): Promise<FitReport> {
  const { model, ...placement } = request;
  const local =
    model === undefined
      ? await options.store.list()
      : [await options.store.get(model)].filter((found) => found !== undefined);
  let candidates: FitCandidate[];
  if (model === undefined || local.length > 0) {
    candidates = [];
    for (const profile of local as ModelProfile[]) {
      const base = {
        name: profile.name,
        origin: "local" as const,
        quantization: profile.fileType,
        sizeBytes: profile.sizeBytes,
      };
      candidates.push(await judge(options, base, () => options.plan({ ...placement, model: profile.name })));
    }
  } else {
    candidates = await fitHubRepository(options, model, placement, signal);
  }
  return { candidates: rank(candidates) };
}

async function fitHubRepository(
  options: ModelFitOptions,
  ref: string,
  placement: Omit<LoadRequest, "model">,
  signal: AbortSignal,
): Promise<FitCandidate[]> {
  let reference: ReturnType<typeof parseHubReference>;
  try {
    reference = parseHubReference(ref);
  } catch (error) {
    // Neither a local model nor a hub reference: the local miss is the likelier mistake.
    if (error instanceof InvalidRequestError) throw new ModelNotFoundError(ref);
    throw error;
  }
  const listing = await options.hub.listFiles(reference.repository, reference.revision, signal);
  const wanted = reference.quantization?.toUpperCase();
  const models = hubModels(listing.files).filter(
    (candidate) =>
      (!wanted || candidate.quantization === wanted) &&
      (!reference.file || candidate.files.some((file) => file.path === reference.file)),
  );
  return Promise.all(
    models.map(async (candidate) => {
      const name = defaultModelName(reference.repository, candidate.quantization);
      const base = {
        name,
        origin: "hub" as const,
        ref: `${reference.repository}:${candidate.quantization}`,
        quantization: candidate.quantization,
        sizeBytes: candidate.sizeBytes,
      };
      return judge(options, base, async () => {
        const first = candidate.files[0]!;
        const facts = await readRemoteGgufFacts(
          options.hub.fileUrl(reference.repository, listing.commit, first.path),
          candidate.files.map((file) => file.sizeBytes),
          { headers: options.hub.headers(), signal },
        );
        const profile = ModelProfile.parse({
          ...facts,
          name,
          file: first.path,
          source: `hf:${reference.repository}/${first.path}@${listing.commit}`,
          storage: "downloaded",
          importedAt: new Date().toISOString(),
        });
        return options.planProfile(profile, { ...placement, model: name });
      });
    }),
  );
}

type CandidateBase = Pick<FitCandidate, "name" | "origin" | "ref" | "quantization" | "sizeBytes">;

/** Plans one candidate: its verdict, nodes and speed, or why it does not fit. */
async function judge(
  options: ModelFitOptions,
  base: CandidateBase,
  plan: () => Promise<unknown>,
): Promise<FitCandidate> {
  try {
    const details = (await plan()) as Plan;
    return {
      ...base,
      fits: true,
      nodeCount: details.shards.length,
      nodes: details.shards.map((shard) => options.nodeName(shard.node)),
      head: options.nodeName(details.head),
      splitMode: details.splitMode,
      predictedDecodeTokensPerSecond: details.predicted.decodeTokensPerSecond,
      predictedPrefillTokensPerSecond: details.predicted.prefillTokensPerSecond,
      reason: details.reasons[0] ?? "",
    };
  } catch (error) {
    // Not fitting is an answer here, as is a file whose header cannot be read; anything else is not.
    if (!(error instanceof NoPlacementError) && !(error instanceof InvalidModelFileError)) throw error;
    return { ...base, fits: false, nodeCount: 0, nodes: [], reason: error.message };
  }
}

/** Fits first, then faster, then bigger (a better quantization at the same speed). */
export function rank(candidates: FitCandidate[]): FitCandidate[] {
  return [...candidates].sort(
    (a, b) =>
      Number(b.fits) - Number(a.fits) ||
      (b.predictedDecodeTokensPerSecond ?? 0) - (a.predictedDecodeTokensPerSecond ?? 0) ||
      b.sizeBytes - a.sizeBytes,
  );
}
