import type { IncomingMessage } from "node:http";
import { z } from "zod";
import { HubError } from "../protocol/errors.js";
import type { RangeSourceFactory } from "./download-in-worker.js";
import { httpRangeSource } from "./http-range-source.js";
import type { HubFile } from "./hub-files.js";

export interface HubClientOptions {
  /** The hub or a mirror of it (`HF_ENDPOINT`). Default `https://huggingface.co`. */
  endpoint?: string;
  /** A token for gated and private repositories (`HF_TOKEN`). */
  token?: string;
}

/** A repository's files at one commit. */
export interface HubListing {
  repository: string;
  revision: string;
  /** The commit the revision points at (when the hub says). */
  commit: string;
  files: HubFile[];
}

const RepositoryInfo = z.object({
  sha: z.string().optional(),
  siblings: z.array(
    z.object({
      rfilename: z.string(),
      size: z.number().optional(),
      lfs: z
        .object({ sha256: z.string().optional(), oid: z.string().optional(), size: z.number() })
        .optional(),
    }),
  ),
});

/**
 * A Hugging Face compatible hub: the API that lists a repository's files with sizes and LFS
 * checksums (`/api/models/{repo}/revision/{rev}?blobs=true`), and the `resolve` URLs that serve them.
 */
export class HubClient {
  readonly endpoint: string;
  private readonly token: string | undefined;

  constructor(options: HubClientOptions = {}) {
    this.endpoint = (options.endpoint || "https://huggingface.co").replace(/\/+$/, "");
    this.token = options.token || undefined;
  }

  async listFiles(repository: string, revision: string, signal?: AbortSignal): Promise<HubListing> {
    const url = `${this.endpoint}/api/models/${repository}/revision/${encodeURIComponent(revision)}?blobs=true`;
    let response: Response;
    try {
      response = await fetch(url, { headers: this.headers(), signal });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw new HubError(
        `cannot reach the hub at ${this.endpoint} (${(error as Error).message}); without a network, only models already pulled can be used (--offline)`,
        0,
        { cause: error },
      );
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw this.refusal(response.status, response.headers.get("x-error-code"), repository, revision);
    }
    const info = RepositoryInfo.safeParse(await response.json().catch(() => undefined));
    if (!info.success) throw new HubError(`${url} did not answer with a repository listing`, 502);
    return {
      repository,
      revision,
      commit: info.data.sha ?? revision,
      files: info.data.siblings.map((sibling) => ({
        path: sibling.rfilename,
        sizeBytes: sibling.lfs?.size ?? sibling.size ?? 0,
        sha256: sibling.lfs?.sha256 ?? sibling.lfs?.oid,
      })),
    };
  }

  /** The address that serves a file of a repository (the hub redirects it to its CDN). */
  fileUrl(repository: string, revision: string, path: string): string {
    const encodedPath = path.split("/").map(encodeURIComponent).join("/");
    return `${this.endpoint}/${repository}/resolve/${encodeURIComponent(revision)}/${encodedPath}`;
  }

  /** The same range source, made on a download worker's thread (`downloadInWorker`). */
  rangeSourceFactory(repository: string, revision: string, path: string): RangeSourceFactory {
    return {
      module: import.meta.url,
      name: hubRangeSource.name,
      args: [{ endpoint: this.endpoint, token: this.token }, repository, revision, path],
    };
  }

  /** Byte ranges of a repository's file, for `downloadFile`. */
  rangeSource(repository: string, revision: string, path: string) {
    return httpRangeSource({
      url: this.fileUrl(repository, revision, path),
      headers: this.headers(),
      refusal: (status: number, response: IncomingMessage) =>
        this.refusal(status, header(response, "x-error-code"), repository, revision, path),
    });
  }

  /** Headers for the hub itself (never for the CDN it redirects to). */
  headers(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  private refusal(
    status: number,
    errorCode: string | null,
    repository: string,
    revision: string,
    path?: string,
  ): HubError {
    const what = path ? `${repository}/${path}` : repository;
    if (errorCode === "GatedRepo" || (status === 401 && errorCode !== "RepoNotFound")) {
      const advice = this.token
        ? "the token in HF_TOKEN has no access to it yet: accept its terms on the hub's page, or use another token"
        : "set HF_TOKEN to a Hugging Face token that has access";
      return new HubError(`${what} is gated or private: ${advice}`, 401);
    }
    if (status === 403)
      return new HubError(`the hub refused access to ${what} with the token in HF_TOKEN`, 403);
    if (status === 404 || errorCode === "RepoNotFound") {
      if (errorCode === "RevisionNotFound")
        return new HubError(`${repository} has no revision '${revision}'`, 404);
      if (path && errorCode !== "RepoNotFound")
        return new HubError(`${repository} has no file '${path}' at revision '${revision}'`, 404);
      return new HubError(
        `no repository '${repository}' on ${this.endpoint}${this.token ? "" : " (or it is private: set HF_TOKEN)"}`,
        404,
      );
    }
    return new HubError(`the hub answered ${status} for ${what}`, status);
  }
}

function header(response: IncomingMessage, name: string): string | null {
  const value = response.headers[name];
  return typeof value === "string" ? value : null;
}

/** A hub file's byte ranges, from options that can cross to a worker thread. */
export function hubRangeSource(
  options: HubClientOptions,
  repository: string,
  revision: string,
  path: string,
) {
  return new HubClient(options).rangeSource(repository, revision, path);
}
