import { Hono } from "hono";
import { ImportModelRequest, SynthModelRequest } from "../../protocol/management.js";
import type { ApiDependencies } from "../api-dependencies.js";
import { readJsonBody } from "../read-json-body.js";
import { ndjsonProgress } from "./ndjson-progress.js";

/** The node's model store: list, import, synthesize, remove. */
export function modelRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();
  const { models, instances } = dependencies;
  app.get("/herd/v1/models", async (context) => {
    // Instances anywhere in the cluster: a model's instances may be headed on another node's copy.
    const loaded = dependencies.cluster.view().instances;
    const list = await models.list();
    return context.json({
      models: list.map((model) => ({
        ...model,
        instances: loaded.filter((summary) => summary.model === model.name).map((summary) => summary.id),
      })),
    });
  });

  app.post("/herd/v1/models/import", async (context) => {
    const body = await readJsonBody(context, ImportModelRequest);
    const profile = await models.import(body.path, { name: body.name, copy: body.copy });
    dependencies.logger.info({ model: profile.name, storage: profile.storage }, "model imported");
    return context.json(profile, 201);
  });

  app.post("/herd/v1/models/synth", async (context) => {
    const body = await readJsonBody(context, SynthModelRequest);
    const abort = new AbortController();
    context.req.raw.signal.addEventListener("abort", () => abort.abort(new Error("client went away")));
    return ndjsonProgress(abort, (onProgress) =>
      dependencies.synthesize(body, (completed, total) => onProgress({ completed, total }), abort.signal),
    );
  });

  app.delete("/herd/v1/models/:name", async (context) => {
    const name = context.req.param("name");
    const users = instances.list().filter((status) => status.model === name);
    if (users.length > 0 && context.req.query("force") !== "true") {
      return context.json(
        {
          error: {
            message: `model '${name}' is used by instance ${users.map((s) => s.id).join(", ")}; unload it first or pass force`,
            type: "invalid_request_error",
            code: "model_in_use",
            param: null,
          },
        },
        409,
      );
    }
    if (users.length > 0) await instances.unload(name);
    await models.remove(name);
    return context.json({ removed: name });
  });
  return app;
}
