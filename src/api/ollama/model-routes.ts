import { existsSync } from "node:fs";
import { join } from "node:path";
import { Hono } from "hono";
import { readTokenizerFacts } from "../../models/read-tokenizer-facts.js";
import { ollamaAliasTags } from "../alias-listings.js";
import type { ApiDependencies } from "../api-dependencies.js";
import { ollamaName, resolveModelName } from "../model-names.js";
import { readJsonBody } from "../read-json-body.js";
import { modelDetails, modelDigest, showResponse } from "./model-details.js";
import { ollamaPullRoutes } from "./pull-routes.js";
import { ModelReference } from "./schemas.js";

/**
 * The Ollama version herd reports: the release whose API herd serves. Clients compare it to decide
 * what to use and refuse servers older than they need (Codex CLI's Ollama mode wants 0.13.4 or
 * newer), so it moves forward with the Ollama API herd implements, never behind a current release.
 */
export const ollamaApiVersion = "0.13.5";

/** Ollama's model management: list, running models, details, delete, pull, version, liveness. */
export function ollamaModelRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();
  const { models } = dependencies;
  app.route("/", ollamaPullRoutes(dependencies));

  // Ollama clients check `/` for liveness (`HEAD /`, or `GET /` for "Ollama is running"). The
  // dashboard keeps `GET /` for clients that take a page (browsers, `*/*`) when it is built; a
  // client that asks for something else, or a node without the dashboard, gets Ollama's answer.
  // `--ollama-port` answers as Ollama always.
  const dashboardBuilt =
    dependencies.dashboardDirectory !== undefined &&
    existsSync(join(dependencies.dashboardDirectory, "index.html"));
  app.on("HEAD", "/", (context) => context.body(null, 200, { "content-type": "text/plain; charset=utf-8" }));
  app.get("/", async (context, next) => {
    const accept = context.req.header("accept") ?? "*/*";
    if (dashboardBuilt && (accept.includes("text/html") || accept.includes("*/*"))) return next();
    return context.text("Ollama is running");
  });

  app.get("/api/version", (context) => context.json({ version: ollamaApiVersion }));

  app.get("/api/tags", async (context) => {
    const list = await models.list();
    return context.json({
      models: [
        ...list.map((model) => ({
          name: ollamaName(model.name),
          model: ollamaName(model.name),
          modified_at: model.importedAt,
          size: model.sizeBytes,
          digest: modelDigest(model),
          details: modelDetails(model),
        })),
        ...(await ollamaAliasTags(dependencies)),
      ],
    });
  });

  app.get("/api/ps", async (context) => {
    const ready = new Set(
      dependencies.cluster
        .view()
        .instances.filter((instance) => instance.state === "READY")
        .map((instance) => instance.model),
    );
    for (const status of dependencies.instances.list()) if (status.state === "READY") ready.add(status.model);
    const running = [];
    for (const name of [...ready].sort()) {
      const model = await models.get(name);
      running.push({
        name: ollamaName(name),
        model: ollamaName(name),
        size: model?.sizeBytes ?? 0,
        digest: model ? modelDigest(model) : "",
        details: model ? modelDetails(model) : { format: "gguf" },
        // herd keeps a model loaded until `herd unload`, however long it idles.
        expires_at: new Date(Date.now() + 100 * 365 * 24 * 3600 * 1000).toISOString(),
        size_vram: 0,
      });
    }
    return context.json({ models: running });
  });

  app.post("/api/show", async (context) => {
    const body = await readJsonBody(context, ModelReference);
    const model = await models.require(await resolveModelName(models, (body.model ?? body.name)!));
    return context.json(showResponse(model, await readTokenizerFacts(model.file)));
  });

  app.delete("/api/delete", async (context) => {
    const body = await readJsonBody(context, ModelReference);
    const name = await resolveModelName(models, (body.model ?? body.name)!);
    await models.require(name);
    // Like Ollama, deleting a model that is loaded unloads it first.
    if (dependencies.instances.list().some((status) => status.model === name)) {
      await dependencies.instances.unload(name);
    }
    await models.remove(name);
    return context.body(null, 200);
  });

  return app;
}
