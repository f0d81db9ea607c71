import { Hono } from "hono";
import { SetAliasRequest } from "../../protocol/aliases.js";
import { NotSupportedError } from "../../protocol/errors.js";
import type { ApiDependencies } from "../api-dependencies.js";
import { readJsonBody } from "../read-json-body.js";

/** Aliases: a name that stands for a chain of models, in the cluster's desired state. */
export function aliasRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();
  const aliases = () => {
    if (!dependencies.aliases) throw new NotSupportedError("this node does not manage aliases");
    return dependencies.aliases;
  };

  app.get("/herd/v1/aliases", (context) => context.json(aliases().list()));

  app.get("/herd/v1/aliases/:name", (context) => context.json(aliases().get(context.req.param("name"))));

  app.put("/herd/v1/aliases/:name", async (context) => {
    const body = await readJsonBody(context, SetAliasRequest);
    return context.json(await aliases().set(context.req.param("name"), body));
  });

  app.delete("/herd/v1/aliases/:name", async (context) =>
    context.json(await aliases().remove(context.req.param("name"))),
  );

  return app;
}
