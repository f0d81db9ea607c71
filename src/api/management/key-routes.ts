import { Hono } from "hono";
import { CreateApiKeyRequest, toApiKeyView } from "../../protocol/api-keys.js";
import type { ApiDependencies } from "../api-dependencies.js";
import { readJsonBody } from "../read-json-body.js";

/** `/herd/v1/keys`: the cluster's API keys (admin scope). Secrets are shown once, at creation. */
export function keyRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();
  const { apiKeys, logger } = dependencies;

  app.get("/herd/v1/keys", (context) => context.json({ keys: apiKeys.list().map(toApiKeyView) }));

  app.post("/herd/v1/keys", async (context) => {
    const request = await readJsonBody(context, CreateApiKeyRequest);
    const created = await apiKeys.create(request);
    logger.info({ keyId: created.key.id, scope: created.key.scope }, "API key created");
    return context.json(created, 201);
  });

  app.delete("/herd/v1/keys/:id", async (context) => {
    const revoked = await apiKeys.revoke(context.req.param("id"));
    logger.info({ keyId: revoked.id }, "API key revoked");
    return context.json({ revoked: toApiKeyView(revoked) });
  });

  return app;
}
