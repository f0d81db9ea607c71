import { Hono } from "hono";
import { assessHealth } from "../../cluster/assess-health.js";
import type { ApiDependencies } from "../api-dependencies.js";

/**
 * `GET /herd/v1/health`: the cluster's verdict with a finding per problem (always 200: the verdict
 * is in the body). `GET /healthz`: for load balancers, 200 unless nothing loaded can be served
 * (503); public, and it says no more than the verdict.
 */
export function healthRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();
  const assess = () =>
    assessHealth({
      view: dependencies.cluster.view(),
      activeApiKeys: dependencies.apiKeys.list().filter((key) => key.revokedAt === undefined).length,
      now: new Date(),
    });

  app.get("/herd/v1/health", (context) => context.json(assess()));

  app.get("/healthz", (context) => {
    const { verdict } = assess();
    return context.text(`${verdict}\n`, verdict === "down" ? 503 : 200);
  });

  return app;
}
