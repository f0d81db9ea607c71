import { createReadStream } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { Hono } from "hono";
import type { ModelStore } from "../models/model-store.js";
import { NotFoundError } from "../protocol/errors.js";
import type { ChannelApp } from "./channel-app.js";

/**
 * The cluster channel's model routes, so a node that must head a model it lacks copies it from a
 * peer instead of downloading it again: `GET /cluster/v1/models/{name}` (the profile and every
 * file's size and sha256) and `GET /cluster/v1/models/{name}/files/{file}` (byte ranges, 206).
 * Only peers holding the cluster key reach them.
 */
export function modelFileRoutes(store: ModelStore): ChannelApp {
  const app: ChannelApp = new Hono();
  const held = async (name: string) => {
    const profile = await store.get(name);
    if (!profile) throw new NotFoundError(`this node does not hold '${name}'`);
    return { profile, files: await store.files(name) };
  };
  app.get("/cluster/v1/models/:name", async (context) => context.json(await held(context.req.param("name"))));
  app.get("/cluster/v1/models/:name/files/:file", async (context) => {
    const name = context.req.param("name");
    const { files } = await held(name);
    const file = files.find((candidate) => candidate.name === context.req.param("file"));
    if (!file) throw new NotFoundError(`'${name}' has no file '${context.req.param("file")}'`);
    const range = /^bytes=(\d+)-(\d*)$/.exec(context.req.header("range") ?? "");
    const start = range ? Number(range[1]) : 0;
    // As HTTP says: a range that runs past the end is the rest of the file.
    const end = range?.[2] ? Math.min(Number(range[2]) + 1, file.sizeBytes) : file.sizeBytes;
    if (start >= end || end > file.sizeBytes) {
      return context.body(null, 416, { "content-range": `bytes */${file.sizeBytes}` });
    }
    // Written straight to the socket: a model file is gigabytes, read in 1 MiB blocks.
    const response = context.env.outgoing;
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
    return RESPONSE_ALREADY_SENT;
  });
  return app;
}
