import { serveStatic } from "@hono/node-server/serve-static";
import { Hono } from "hono";
import { cors } from "hono/cors";
import { anthropicRoutes } from "./anthropic/routes.js";
import type { ApiDependencies } from "./api-dependencies.js";
import { mapError } from "./error-mapping.js";
import { errorBodyFor, protocolOfRequest } from "./error-shapes.js";
import { healthRoutes } from "./management/health-routes.js";
import { keyRoutes } from "./management/key-routes.js";
import { logsRoutes } from "./management/logs-routes.js";
import { modelSupplyRoutes } from "./management/model-supply-routes.js";
import { nodeStopRoutes } from "./management/node-stop-routes.js";
import { managementRoutes } from "./management/routes.js";
import { metricsRoutes } from "./metrics/metrics-routes.js";
import { observeRequests } from "./observe-requests.js";
import { ollamaRoutes } from "./ollama/routes.js";
import { openAIRoutes } from "./openai/routes.js";
import { apiSecurity } from "./security/api-security.js";

/** The node's HTTP API: OpenAI, Anthropic and Ollama inference, herd's management routes, the dashboard. */
export function createApp(dependencies: ApiDependencies): Hono {
  const app = new Hono();

  app.use(observeRequests(dependencies.logger));
  app.route("/", metricsRoutes(dependencies));
  const { security } = dependencies;
  if (security.corsOrigins.length > 0) {
    app.use(
      "*",
      cors({
        origin: [...security.corsOrigins],
        allowHeaders: ["authorization", "x-api-key", "content-type", "anthropic-version"],
        maxAge: 600,
      }),
    );
  }
  app.use("*", ...apiSecurity({ ...security, apiKeys: dependencies.apiKeys }));

  app.route("/", openAIRoutes(dependencies));
  app.route("/", anthropicRoutes(dependencies));
  app.route("/", ollamaRoutes(dependencies));
  app.route("/", managementRoutes(dependencies));
  app.route("/", logsRoutes(dependencies));
  app.route("/", keyRoutes(dependencies));
  app.route("/", healthRoutes(dependencies));
  app.route("/", nodeStopRoutes(dependencies));
  app.route("/", modelSupplyRoutes(dependencies));
  if (dependencies.dashboardDirectory) {
    app.get("/*", serveStatic({ root: dependencies.dashboardDirectory }));
  }

  app.notFound((context) =>
    context.json(
      errorBodyFor(protocolOfRequest(context.req.path, context.req.raw.headers), {
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
    if (mapped.retryAfterSeconds !== undefined)
      context.header("retry-after", String(Math.max(1, Math.ceil(mapped.retryAfterSeconds))));
    if (mapped.status === 401) context.header("www-authenticate", 'Bearer realm="herd"');
    const protocol = protocolOfRequest(context.req.path, context.req.raw.headers);
    return context.json(errorBodyFor(protocol, mapped), mapped.status);
  });

  return app;
}
