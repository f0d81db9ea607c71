import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A file of a test repository: bytes in memory, or a file on disk (for large ones). */
export interface TestHubFile {
  path: string;
  data?: Buffer;
  diskPath?: string;
  /** Skips hashing a large disk file when the caller knows its sha256. */
  sha256?: string;
  /** A size to announce instead of the real one (to test the disk space check). */
  declaredSize?: number;
}

interface StoredFile {
  path: string;
  sizeBytes: number;
  sha256: string;
  data?: Buffer;
  diskPath?: string;
  servedBytes: number;
  requests: number;
  /** Total bytes this file may still send before every connection for it is cut. */
  budget: number;
  corrupt: boolean;
}

interface Repository {
  commit: string;
  gated: boolean;
  files: Map<string, StoredFile>;
}

/**
 * A local stand-in for the Hugging Face hub, close to the real one on the wire: the repository API
 * (`/api/models/{repo}[/revision/{rev}]?blobs=true` with sizes and LFS sha256), `resolve` URLs
 * that answer 302 to a separate CDN origin (which, like the real CDN's signed links, refuses a
 * request that carries the hub's Authorization header), byte ranges (206, Content-Range), 401 with
 * `X-Error-Code: GatedRepo` for a gated repository without the token, and 404s. Tests can cut
 * connections after a byte budget, serve corrupted bytes, expire the signed links, and count what
 * was served.
 */
export class TestHub {
  private readonly repositories = new Map<string, Repository>();
  private hub: Server | undefined;
  private cdn: Server | undefined;
  private cdnOrigin = "";
  /** The signature the CDN accepts; links signed before `expireLinks()` are refused with 403. */
  private signature = 1;
  /** `resolve` requests answered with a link. */
  resolved = 0;
  endpoint = "";

  constructor(private readonly token = "hf_test_token") {}

  async start(): Promise<this> {
    this.cdn = await listen((request, response) => void this.serveCdn(request, response));
    this.cdnOrigin = `http://127.0.0.1:${(this.cdn.address() as AddressInfo).port}`;
    this.hub = await listen((request, response) => void this.serveHub(request, response));
    this.endpoint = `http://127.0.0.1:${(this.hub.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const server of [this.hub, this.cdn]) {
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
    }
  }

  async addRepository(name: string, files: TestHubFile[], options: { gated?: boolean } = {}): Promise<void> {
    const stored = new Map<string, StoredFile>();
    for (const file of files) {
      const sizeBytes =
        file.declaredSize ?? (file.data ? file.data.length : (await stat(file.diskPath!)).size);
      const sha256 =
        file.sha256 ??
        createHash("sha256")
          .update(file.data ?? (await readFile(file.diskPath!)))
          .digest("hex");
      stored.set(file.path, {
        path: file.path,
        sizeBytes,
        sha256,
        data: file.data,
        diskPath: file.diskPath,
        servedBytes: 0,
        requests: 0,
        budget: Number.POSITIVE_INFINITY,
        corrupt: false,
      });
    }
    this.repositories.set(name, {
      commit: randomBytes(20).toString("hex"),
      gated: options.gated ?? false,
      files: stored,
    });
  }

  /** Bytes of a file's content sent so far, and the number of requests for it. */
  served(repository: string, path: string): { bytes: number; requests: number } {
    const file = this.file(repository, path);
    return { bytes: file.servedBytes, requests: file.requests };
  }

  /** From now on, the file sends at most `bytes` more bytes in all; then every connection is cut. */
  cutAfter(repository: string, path: string, bytes: number): void {
    this.file(repository, path).budget = bytes;
  }

  /** Every link handed out so far stops working, as the real CDN's signed links expire. */
  expireLinks(): void {
    this.signature++;
  }

  /** Serves a file normally again. */
  heal(repository: string, path: string): void {
    const file = this.file(repository, path);
    file.budget = Number.POSITIVE_INFINITY;
    file.corrupt = false;
  }

  /** Serves the file with one byte flipped (its listing keeps the true sha256). */
  corrupt(repository: string, path: string): void {
    this.file(repository, path).corrupt = true;
  }

  private file(repository: string, path: string): StoredFile {
    const file = this.repositories.get(repository)?.files.get(path);
    if (!file) throw new Error(`no ${repository}/${path} in the test hub`);
    return file;
  }

  private authorized(request: IncomingMessage, repository: Repository): boolean {
    return !repository.gated || request.headers.authorization === `Bearer ${this.token}`;
  }

  private async serveHub(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://hub");
    const api = /^\/api\/models\/([^/]+\/[^/]+)(?:\/revision\/([^/]+))?$/.exec(url.pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const repositoryName = decodeURIComponent(api?.[1] ?? resolve?.[1] ?? "");
    const repository = this.repositories.get(repositoryName);
    if (!api && !resolve) return refuse(response, 404, "EntryNotFound", "no such route");
    if (!repository) return refuse(response, 404, "RepoNotFound", "Repository not found");
    if (!this.authorized(request, repository))
      return refuse(response, 401, "GatedRepo", `Access to model ${repositoryName} is restricted.`);
    if (api) {
      const blobs = url.searchParams.get("blobs") === "true";
      response.writeHead(200, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          id: repositoryName,
          sha: repository.commit,
          gated: repository.gated ? "auto" : false,
          siblings: [...repository.files.values()].map((file) => ({
            rfilename: file.path,
            ...(blobs && {
              size: file.sizeBytes,
              blobId: file.sha256.slice(0, 40),
              lfs: { sha256: file.sha256, size: file.sizeBytes, pointerSize: 134 },
            }),
          })),
        }),
      );
      return;
    }
    const file = repository.files.get(decodeURIComponent(resolve![3]!));
    if (!file) return refuse(response, 404, "EntryNotFound", "Entry not found");
    this.resolved++;
    response.writeHead(302, {
      location: `${this.cdnOrigin}/cdn/${repositoryName}/${file.sha256}?signature=${this.signature}`,
      "x-repo-commit": repository.commit,
      "x-linked-size": String(file.sizeBytes),
      "x-linked-etag": `"${file.sha256}"`,
      etag: `"${file.sha256}"`,
    });
    response.end();
  }

  private async serveCdn(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://cdn");
    const match = /^\/cdn\/([^/]+\/[^/]+)\/([0-9a-f]{64})$/.exec(url.pathname);
    const file = match
      ? [...(this.repositories.get(match[1]!)?.files.values() ?? [])].find(
          (candidate) => candidate.sha256 === match[2],
        )
      : undefined;
    if (!file) return refuse(response, 404, "EntryNotFound", "no such object");
    if (url.searchParams.get("signature") !== String(this.signature))
      return refuse(response, 403, "AccessDenied", "Request has expired");
    if (request.headers.authorization) {
      return refuse(
        response,
        400,
        "InvalidArgument",
        "Only one auth mechanism allowed (signed URL and Authorization)",
      );
    }
    file.requests++;
    const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    // As HTTP says: a range that runs past the end is the rest of the file.
    const end = range?.[2] ? Math.min(Number(range[2]) + 1, file.sizeBytes) : file.sizeBytes;
    if (start >= file.sizeBytes || end > file.sizeBytes || end <= start) {
      response.writeHead(416, { "content-range": `bytes */${file.sizeBytes}` });
      response.end();
      return;
    }
    response.writeHead(range ? 206 : 200, {
      "content-length": String(end - start),
      "accept-ranges": "bytes",
      ...(range && { "content-range": `bytes ${start}-${end - 1}/${file.sizeBytes}` }),
    });
    const body = file.data
      ? chunksOf(file.data.subarray(start, end), 64 * 1024)
      : createReadStream(file.diskPath!, { start, end: end - 1, highWaterMark: 1024 * 1024 });
    let position = start;
    for await (const piece of body as AsyncIterable<Buffer>) {
      // The budget is shared by every connection to this file, so a cut reaches all of them.
      let chunk = piece.subarray(0, Math.max(0, Math.min(piece.length, file.budget)));
      const flip = file.corrupt ? Math.floor(file.sizeBytes / 2) : -1;
      if (flip >= position && flip < position + chunk.length) {
        chunk = Buffer.from(chunk);
        chunk[flip - position] = chunk[flip - position]! ^ 0xff;
      }
      position += chunk.length;
      file.servedBytes += chunk.length;
      file.budget -= chunk.length;
      if (chunk.length < piece.length) {
        // Flushed, then closed mid-body: the client sees fewer bytes than Content-Length promised.
        await new Promise<void>((resolve) => response.write(chunk, () => resolve()));
        (body as { destroy?: () => void }).destroy?.();
        response.socket?.destroy();
        return;
      }
      if (!response.write(chunk))
        await new Promise<void>((resolve) => {
          const done = () => {
            response.off("drain", done);
            response.off("close", done);
            resolve();
          };
          response.on("drain", done);
          response.on("close", done);
        });
      if (response.destroyed) return;
    }
    response.end();
  }
}

function* chunksOf(data: Buffer, size: number): Generator<Buffer> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

function refuse(response: ServerResponse, status: number, code: string, message: string): void {
  response.writeHead(status, { "content-type": "application/json", "x-error-code": code });
  response.end(JSON.stringify({ error: message }));
}

function listen(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer(handler);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}
