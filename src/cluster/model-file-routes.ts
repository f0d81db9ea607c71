import { createReadStream } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { ModelStore } from "../models/model-store.js";

/**
 * The cluster channel's model routes, so a node that must head a model it lacks copies it from a
 * peer instead of downloading it again: `GET /cluster/v1/models/{name}` (the profile and every
 * file's size and sha256) and `GET /cluster/v1/models/{name}/files/{file}` (byte ranges, 206).
 * Only peers holding the cluster key reach them.
 */
export function modelFileRoutes(store: ModelStore) {
  return async (request: IncomingMessage, response: ServerResponse): Promise<boolean> => {
    const url = new URL(request.url ?? "/", "https://cluster");
    const match = /^\/cluster\/v1\/models\/([^/]+)(?:\/files\/([^/]+))?$/.exec(url.pathname);
    if (request.method !== "GET" || !match) return false;
    const name = decodeURIComponent(match[1]!);
    const profile = await store.get(name);
    if (!profile) {
      reply(response, 404, { error: { message: `this node does not hold '${name}'` } });
      return true;
    }
    const files = await store.files(name);
    if (!match[2]) {
      reply(response, 200, { profile, files });
      return true;
    }
    const file = files.find((candidate) => candidate.name === decodeURIComponent(match[2]!));
    if (!file) {
      reply(response, 404, { error: { message: `'${name}' has no file '${match[2]}'` } });
      return true;
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    // As HTTP says: a range that runs past the end is the rest of the file.
    const end = range?.[2] ? Math.min(Number(range[2]) + 1, file.sizeBytes) : file.sizeBytes;
    if (start >= end || end > file.sizeBytes) {
      response.writeHead(416, { "content-range": `bytes */${file.sizeBytes}` });
      response.end();
      return true;
    }
    response.writeHead(range ? 206 : 200, {
      "content-length": String(end - start),
      "accept-ranges": "bytes",
      ...(range && { "content-range": `bytes ${start}-${end - 1}/${file.sizeBytes}` }),
    });
    const folder = join(store.directory, name);
    await pipeline(
      createReadStream(join(folder, file.name), { start, end: end - 1, highWaterMark: 1024 * 1024 }),
      response,
    ).catch(() => {
      // The peer went away mid-file; it resumes from what it has.
    });
    return true;
  };
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}
