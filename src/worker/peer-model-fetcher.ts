import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { channelRequest } from "../cluster/channel-request.js";
import { peerRangeSourceFactory } from "../cluster/peer-range-source.js";
import { ensureFreeSpace, isDownloaded } from "../models/download-file.js";
import { downloadInWorker } from "../models/download-in-worker.js";
import type { ModelStore } from "../models/model-store.js";
import { SpeedMeter } from "../models/speed-meter.js";
import { HerdError } from "../protocol/errors.js";
import type { NodeId } from "../protocol/ids.js";
import { ModelProfile } from "../protocol/model-profile.js";
import { formatBytes } from "../util/format.js";
import type { Logger } from "../util/logger.js";

const PeerModel = z.object({
  profile: ModelProfile,
  files: z.array(
    z.object({ name: z.string(), sizeBytes: z.number().int().nonnegative(), sha256: z.string() }),
  ),
});

export interface PeerModelFetcherOptions {
  selfId: NodeId;
  key: Buffer;
  store: ModelStore;
  /** Live nodes other than this one that hold the model, with their cluster channel addresses. */
  holders: (model: string) => Array<{ id: NodeId; name: string; endpoints: string[] }>;
  logger: Logger;
}

/**
 * Gets a model file this node must head but lacks from a peer that holds it, over the cluster
 * channel: ranged and resumable like a hub download (same `.downloads` folder, keyed by sha256),
 * verified against the holder's sha256, then registered under the same name and profile.
 */
export class PeerModelFetcher {
  private readonly copying = new Map<string, Promise<ModelProfile>>();

  constructor(private readonly options: PeerModelFetcherOptions) {}

  /** The model from the local store, copying it from a peer first if needed; `report` hears progress. */
  obtain(name: string, signal: AbortSignal, report: (reason: string) => void): Promise<ModelProfile> {
    let pending = this.copying.get(name);
    if (!pending) {
      pending = this.copy(name, signal, report).finally(() => this.copying.delete(name));
      this.copying.set(name, pending);
    }
    return pending;
  }

  private async copy(
    name: string,
    signal: AbortSignal,
    report: (reason: string) => void,
  ): Promise<ModelProfile> {
    const local = await this.options.store.get(name);
    if (local) return local;
    const holders = this.options.holders(name).filter((holder) => holder.id !== this.options.selfId);
    if (holders.length === 0) throw new HerdError(`no live node holds '${name}' to copy it from`);
    let lastError: unknown;
    for (const holder of holders) {
      try {
        return await this.copyFrom(holder, name, signal, report);
      } catch (error) {
        if (signal.aborted) throw error;
        // Another holder may do better (this one may have left or lost the file).
        this.options.logger.warn(
          { model: name, holder: holder.name, err: error },
          "copying a model from a peer failed",
        );
        lastError = error;
      }
    }
    throw lastError;
  }

  private async copyFrom(
    holder: { id: NodeId; name: string; endpoints: string[] },
    name: string,
    signal: AbortSignal,
    report: (reason: string) => void,
  ): Promise<ModelProfile> {
    const { key, selfId, store } = this.options;
    const path = `/cluster/v1/models/${encodeURIComponent(name)}`;
    report(`asking ${holder.name} for ${name}`);
    // The holder may checksum an imported file first: allow it minutes.
    const answer = await channelRequest({
      endpoints: holder.endpoints,
      method: "GET",
      path,
      key,
      selfId,
      timeoutMs: 30 * 60_000,
    });
    if (answer.status !== 200)
      throw new HerdError(`${holder.name} cannot share '${name}': ${answer.message}`);
    const { profile, files } = PeerModel.parse(JSON.parse(answer.body));
    const downloads = store.downloadsDirectory;
    await mkdir(downloads, { recursive: true });
    const total = files.reduce((sum, file) => sum + file.sizeBytes, 0);
    await ensureFreeSpace(downloads, total);
    const meter = new SpeedMeter();
    let finished = 0;
    let lastReport = 0;
    const started = Date.now();
    for (const file of files) {
      const target = join(downloads, file.sha256);
      if (!(await isDownloaded(target, file.sizeBytes))) {
        await downloadInWorker({
          source: peerRangeSourceFactory(
            `https://${holder.endpoints[0]}${path}/files/${encodeURIComponent(file.name)}`,
            key,
            selfId,
          ),
          path: target,
          sizeBytes: file.sizeBytes,
          sha256: file.sha256,
          label: `${name}/${file.name} from ${holder.name}`,
          signal,
          onRetry: (error) =>
            this.options.logger.warn(
              { model: name, holder: holder.name, err: error },
              "a download range failed; retrying",
            ),
          onProgress: (bytes) => {
            const completed = finished + bytes;
            const speed = meter.record(completed);
            if (Date.now() - lastReport < 1000) return;
            lastReport = Date.now();
            report(
              `copying ${name} from ${holder.name}: ${Math.floor((completed / total) * 100)}% of ${formatBytes(total)} at ${formatBytes(speed)}/s`,
            );
          },
        });
      }
      finished += file.sizeBytes;
    }
    const copied = await store.adopt(
      name,
      files.map((file) => ({ ...file, path: join(downloads, file.sha256) })),
      profile.source,
    );
    this.options.logger.info(
      { model: name, holder: holder.name, bytes: total, ms: Date.now() - started },
      `copied ${name} from ${holder.name}, sha256 verified`,
    );
    report(`copied ${name} from ${holder.name} (${formatBytes(total)}, sha256 verified)`);
    return copied;
  }
}
