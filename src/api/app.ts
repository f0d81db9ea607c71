import { serveStatic } from "@hono/node-server/serve-static";
import { Hono } from "hono";
import type { ApiDependencies } from "./api-dependencies.js";
import { mapError } from "./error-mapping.js";
import { errorBodyFor, protocolOfPath } from "./error-shapes.js";
import { modelSupplyRoutes } from "./management/model-supply-routes.js";
import { managementRoutes } from "./management/routes.js";
import { openAIRoutes } from "./openai/routes.js";

/** The node's HTTP API: OpenAI-compatible inference, herd's management routes, and the dashboard. */
export function createApp(dependencies: ApiDependencies): Hono {
  const app = new Hono();

  app.route("/", openAIRoutes(dependencies));
  app.route("/", managementRoutes(dependencies));
  app.route("/", modelSupplyRoutes(dependencies));
  if (dependencies.dashboardDirectory) {
    app.get("/*", serveStatic({ root: dependencies.dashboardDirectory }));
  }

  app.notFound((context) =>
    context.json(
      errorBodyFor(protocolOfPath(context.req.path), {
        status: 404,
        type: "invalid_request_error",
        code: "unknown_url",
        message: `no route for ${context.req.method} ${context.req.path}`,
        param: null,
      }),
      404,
    ),
  );

  app.onError((error, context) => {
    const mapped = mapError(error);
    if (mapped.status >= 500) {
      dependencies.logger.error({ err: error, path: context.req.path }, "request failed");
    } else {
      dependencies.logger.debug({ path: context.req.path, message: mapped.message }, "request rejected");
    }
    return context.json(errorBodyFor(protocolOfPath(context.req.path), mapped), mapped.status);
  });

  return app;
}
