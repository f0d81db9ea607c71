import { Hono } from "hono";
import type { ApiDependencies } from "../api-dependencies.js";
import { authRequired } from "../security/api-security.js";

/** What a node says of itself: version, security, cluster view, join token, engine. */
export function nodeInfoRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();
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
  return app;
}
