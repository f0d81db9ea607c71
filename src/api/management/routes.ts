import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { ImportModelRequest, LoadModelRequest, SynthModelRequest } from "../../protocol/management.js";
import type { ApiDependencies } from "../api-dependencies.js";
import { readJsonBody } from "../read-json-body.js";
import { authRequired } from "../security/api-security.js";
import { ndjsonProgress } from "./ndjson-progress.js";
import { throughputRoutes } from "./throughput-routes.js";

/** herd's own API under `/herd/v1`: models, instances, engine, events. */
export function managementRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();
  const { models, instances } = dependencies;
  app.route("/", throughputRoutes(dependencies));

  app.get("/herd/v1/node", (context) =>
    context.json({
      version: dependencies.version,
      startedAt: dependencies.startedAt.toISOString(),
      pid: process.pid,
      security: {
        authRequired: authRequired({ ...dependencies.security, apiKeys: dependencies.apiKeys }),
        insecureNoAuth: dependencies.security.insecureNoAuth,
        exposed: dependencies.security.exposed,
        activeKeys: dependencies.apiKeys.list().filter((key) => key.revokedAt === undefined).length,
        cors: dependencies.security.corsOrigins.length > 0,
      },
    }),
  );

  app.get("/herd/v1/cluster", (context) => context.json(dependencies.cluster.view()));

  app.get("/herd/v1/join-token", (context) => context.json({ token: dependencies.cluster.joinToken() }));

  app.get("/herd/v1/engine", async (context) => context.json(await dependencies.engineReport()));

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

  app.get("/herd/v1/instances", (context) => context.json({ instances: instances.list() }));

  app.post("/herd/v1/instances", async (context) => {
    const body = await readJsonBody(context, LoadModelRequest);
    return context.json(await instances.load(body), 201);
  });

  app.post("/herd/v1/plans", async (context) => {
    const body = await readJsonBody(context, LoadModelRequest);
    return context.json(await instances.dryRun(body));
  });

  app.delete("/herd/v1/instances/:idOrModel", async (context) => {
    const stopped = await instances.unload(context.req.param("idOrModel"));
    return context.json({ stopped });
  });

  app.get("/herd/v1/events", (context) => {
    // Subscribe before the response starts, so a client that has the response headers has every
    // event from then on.
    const queue: string[] = [];
    let wake: (() => void) | undefined;
    const unsubscribe = dependencies.subscribe((event) => {
      queue.push(JSON.stringify(event));
      wake?.();
    });
    return streamSSE(context, async (stream) => {
      stream.onAbort(() => {
        unsubscribe();
        wake?.();
      });
      while (!stream.aborted) {
        const data = queue.shift();
        if (data !== undefined) {
          await stream.writeSSE({ event: "event", data });
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 15_000);
        });
        wake = undefined;
        if (queue.length === 0 && !stream.aborted) await stream.write(": keep-alive\n\n");
      }
      unsubscribe();
    });
  });

  return app;
}
