import { Readable } from "node:stream";
import { Hono } from "hono";
import { parseHubReference } from "../../models/hub-reference.js";
import { HerdError } from "../../protocol/errors.js";
import { FitModelsRequest, PullModelRequest, VerifyModelsRequest } from "../../protocol/management.js";
import type { ApiDependencies } from "../api-dependencies.js";
import { readJsonBody } from "../read-json-body.js";
import { ndjsonProgress } from "./ndjson-progress.js";
import { resolveNode } from "./resolve-node.js";

/** `POST /herd/v1/models/pull` and `POST /herd/v1/models/verify` (NDJSON progress), `POST /herd/v1/models/fit`. */
export function modelSupplyRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();

  app.post("/herd/v1/models/pull", async (context) => {
    const body = await readJsonBody(context, PullModelRequest);
    // A malformed reference is the client's mistake: say so with a 400 before the stream starts.
    parseHubReference(body.ref);
    const pull = dependencies.pull;
    if (!pull) throw new HerdError("this node cannot pull models");
    const abort = new AbortController();
    // A client that disconnects stops the download; what arrived stays for the next pull to resume.
    context.req.raw.signal.addEventListener("abort", () => abort.abort(new Error("client went away")));
    return ndjsonProgress(abort, (onProgress) => pull(body, onProgress, abort.signal));
  });

  app.post("/herd/v1/models/verify", async (context) => {
    const body = await readJsonBody(context, VerifyModelsRequest);
    const verify = dependencies.verify;
    if (!verify) throw new HerdError("this node cannot verify models");
    const node = body.node === undefined ? undefined : resolveNode(dependencies, body.node);
    if (node !== undefined && node !== dependencies.cluster.view().self) {
      const remote = await verify.onNode(node, body.models, context.req.raw.signal);
      return new Response(Readable.toWeb(remote.body) as ReadableStream<Uint8Array>, {
        status: remote.status,
        headers: { "content-type": remote.contentType, "cache-control": "no-cache" },
      });
    }
    const abort = new AbortController();
    // A client that disconnects stops the hashing; nothing is recorded for the model it was on.
    context.req.raw.signal.addEventListener("abort", () => abort.abort(new Error("client went away")));
    return ndjsonProgress(abort, (onProgress) =>
      verify.here(
        body.models,
        (progress) =>
          onProgress({
            phase: "verifying",
            file: `${progress.model}/${progress.file}`,
            completed: progress.completed,
            total: progress.total,
          }),
        abort.signal,
      ),
    );
  });

  app.post("/herd/v1/models/fit", async (context) => {
    const body = await readJsonBody(context, FitModelsRequest);
    if (!dependencies.fit) throw new HerdError("this node cannot plan models");
    return context.json(await dependencies.fit(body, context.req.raw.signal));
  });

  return app;
}
