import { Hono } from "hono";
import type { ApiDependencies } from "../api-dependencies.js";
import { aliasRoutes } from "./alias-routes.js";
import { eventRoutes } from "./event-routes.js";
import { instanceRoutes } from "./instance-routes.js";
import { modelRoutes } from "./model-routes.js";
import { nodeInfoRoutes } from "./node-info-routes.js";
import { throughputRoutes } from "./throughput-routes.js";

/** herd's own API under `/herd/v1`: models, instances, engine, events. */
export function managementRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();
  app.route("/", throughputRoutes(dependencies));
  app.route("/", nodeInfoRoutes(dependencies));
  app.route("/", modelRoutes(dependencies));
  app.route("/", instanceRoutes(dependencies));
  app.route("/", eventRoutes(dependencies));
  app.route("/", aliasRoutes(dependencies));
  return app;
}
