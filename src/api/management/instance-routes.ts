import { Hono } from "hono";
import { LoadModelRequest } from "../../protocol/management.js";
import type { ApiDependencies } from "../api-dependencies.js";
import { readJsonBody } from "../read-json-body.js";

/** Loading, planning and unloading instances. */
export function instanceRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();
  const { instances } = dependencies;
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
  return app;
}
