import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ConflictError, HerdError, HubError } from "../protocol/errors.js";
import type { PullModelRequest, PullProgress } from "../protocol/management.js";
import type { ModelProfile } from "../protocol/model-profile.js";
import { formatBytes } from "../util/format.js";
import type { Logger } from "../util/logger.js";
import { ensureFreeSpace, isDownloaded, presentBytes } from "./download-file.js";
import { downloadInWorker } from "./download-in-worker.js";
import type { HubClient } from "./hub-client.js";
import { chooseHubModel, type HubFile, quantizationOfFile } from "./hub-files.js";
import { formatHubReference, type HubReference, parseHubReference } from "./hub-reference.js";
import type { ModelStore } from "./model-store.js";
import { SpeedMeter } from "./speed-meter.js";

export interface ModelPullerOptions {
  store: ModelStore;
  hub: HubClient;
  logger: Logger;
  /** Never use the network (`HF_HUB_OFFLINE=1`), whatever a request says. Default false. */
  offline?: boolean;
  /** Connections per large file. Default 4. */
  connections?: number;
}

/**
 * Pulls models from a Hugging Face compatible hub into the store: resolves the reference to its GGUF
 * file(s), checks the disk has room, downloads each file resumably (content-addressed by sha256
 * under `models/.downloads`, so an interrupted pull of any name resumes), verifies it, and only then
 * registers the model.
 */
export class ModelPuller {
  constructor(private readonly options: ModelPullerOptions) {}

  async pull(
    request: PullModelRequest,
    onProgress: (progress: PullProgress) => void,
    signal: AbortSignal,
  ): Promise<ModelProfile> {
    const reference = parseHubReference(request.ref);
    if (request.offline || this.options.offline) return this.findLocal(reference, request.name);
    const { store, hub } = this.options;
    onProgress({ phase: "resolving", completed: 0, total: 0 });
    const listing = await hub.listFiles(reference.repository, reference.revision, signal);
    const chosen = chooseHubModel(listing.files, reference);
    const name = request.name ?? defaultModelName(reference.repository, chosen.quantization);
    const total = chosen.sizeBytes;
    const existing = await store.get(name);
    if (existing) {
      if (sameContent(existing, chosen.files)) {
        onProgress({ phase: "done", completed: total, total });
        return existing;
      }
      throw new ConflictError(
        `a model named '${name}' already exists (from ${existing.source}); pull with another --name, or remove it first`,
      );
    }
    for (const file of chosen.files) {
      if (!file.sha256)
        throw new HubError(
          `${reference.repository}/${file.path} has no sha256 in the hub's listing, so it cannot be verified`,
          502,
        );
    }

    const downloads = store.downloadsDirectory;
    await mkdir(downloads, { recursive: true });
    const target = (file: HubFile) => join(downloads, file.sha256!.toLowerCase());
    const present = await Promise.all(
      chosen.files.map(async (file) =>
        (await isDownloaded(target(file), file.sizeBytes))
          ? file.sizeBytes
          : presentBytes(target(file), file.sizeBytes, file.sha256!),
      ),
    );
    await ensureFreeSpace(downloads, total - present.reduce((sum, bytes) => sum + bytes, 0));

    const meter = new SpeedMeter();
    let finished = 0;
    for (const file of chosen.files) {
      const digest = `sha256:${file.sha256}`;
      if (!(await isDownloaded(target(file), file.sizeBytes))) {
        try {
          const result = await downloadInWorker({
            source: hub.rangeSourceFactory(reference.repository, listing.commit, file.path),
            path: target(file),
            sizeBytes: file.sizeBytes,
            sha256: file.sha256!,
            label: file.path,
            signal,
            connections: this.options.connections,
            onRetry: (error) =>
              this.options.logger.warn({ file: file.path, err: error }, "a download range failed; retrying"),
            onProgress: (bytes) => {
              const completed = finished + bytes;
              onProgress({
                phase: bytes < file.sizeBytes ? "downloading" : "verifying",
                file: file.path,
                digest,
                completed,
                total,
                bytesPerSecond: meter.record(completed),
              });
            },
          });
          this.options.logger.info(
            { file: file.path, bytes: file.sizeBytes, transferred: result.transferredBytes },
            "downloaded and verified",
          );
        } catch (error) {
          throw await this.explain(error, file, target(file), signal);
        }
      }
      finished += file.sizeBytes;
      onProgress({ phase: "verifying", file: file.path, digest, completed: finished, total });
    }

    onProgress({ phase: "registering", completed: total, total });
    const first = chosen.files[0]!;
    const profile = await store.adopt(
      name,
      chosen.files.map((file) => ({
        path: target(file),
        name: file.path.split("/").pop()!,
        sizeBytes: file.sizeBytes,
        sha256: file.sha256!.toLowerCase(),
      })),
      `hf:${reference.repository}/${first.path}@${listing.commit}`,
    );
    onProgress({ phase: "done", completed: total, total });
    return profile;
  }

  /** A transfer that kept failing becomes a hub error that says how to go on; others pass through. */
  private async explain(error: unknown, file: HubFile, path: string, signal: AbortSignal): Promise<unknown> {
    if (signal.aborted || error instanceof HerdError) return error;
    const kept = await presentBytes(path, file.sizeBytes, file.sha256!);
    return new HubError(
      `downloading ${file.path} failed (${(error as Error).message}); ${formatBytes(kept)} of ${formatBytes(file.sizeBytes)} are kept: pull again to resume`,
      0,
      { cause: error },
    );
  }

  /** `--offline`: the model this reference names, if an earlier pull registered it. */
  private async findLocal(reference: HubReference, name: string | undefined): Promise<ModelProfile> {
    const pulled = (await this.options.store.list()).filter((profile) => {
      const origin = /^hf:([^/]+\/[^/]+)\/(.+)@[^@]+$/.exec(profile.source);
      if (!origin || origin[1] !== reference.repository || (name && profile.name !== name)) return false;
      if (reference.file) return origin[2] === reference.file;
      if (reference.quantization)
        return quantizationOfFile(origin[2]!) === reference.quantization.toUpperCase();
      return true;
    });
    if (pulled[0]) return pulled[0];
    throw new HubError(
      `${formatHubReference(reference)} has not been pulled to this node, and offline it cannot be downloaded`,
      404,
    );
  }
}

/** `owner/Llama-3.2-1B-Instruct-GGUF` + `Q4_K_M` → `Llama-3.2-1B-Instruct-Q4_K_M`. */
export function defaultModelName(repository: string, quantization: string): string {
  const base = (repository.split("/")[1] ?? repository).replace(/[-_.]gguf$/i, "");
  const name =
    quantization === "unknown" || base.toUpperCase().endsWith(quantization)
      ? base
      : `${base}-${quantization}`;
  return name.slice(0, 128);
}

function sameContent(profile: ModelProfile, files: HubFile[]): boolean {
  const sums = new Set(profile.files?.map((file) => file.sha256));
  return files.every((file) => file.sha256 !== undefined && sums.has(file.sha256.toLowerCase()));
}
