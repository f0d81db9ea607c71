import { Hono } from "hono";
import type { z } from "zod";
import { dispatch } from "../../inference/dispatch.js";
import { InvalidRequestError } from "../../protocol/errors.js";
import type { ApiDependencies } from "../api-dependencies.js";
import { readJsonBody } from "../read-json-body.js";
import { requestPolicy } from "../request-policy.js";
import { sendEngineResponse } from "../send-engine-response.js";
import { ChatCompletionRequest, CompletionRequest, EmbeddingRequest } from "./schemas.js";

/**
 * OpenAI's API. llama-server speaks it already, so a request is validated, routed, and passed
 * through with its response streamed back byte for byte; herd adds nothing in the token path.
 */
export function openAIRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();

  app.get("/v1/models", async (context) => {
    const models = await dependencies.models.list();
    const local = new Set(models.map((model) => model.name as string));
    // Models only an upstream serves are listed too: requests for them are routed there.
    const external = dependencies.router
      .upstreamModels()
      .filter((model) => !local.has(model.name))
      .map((model) => ({ id: model.name, object: "model", created: 0, owned_by: model.upstream }));
    return context.json({ object: "list", data: [...models.map(toOpenAIModel), ...external] });
  });

  app.get("/v1/models/:model{.+}", async (context) => {
    const model = await dependencies.models.require(context.req.param("model"));
    return context.json(toOpenAIModel(model));
  });

  const passThrough = <T extends z.ZodType<{ model: string }>>(path: string, schema: T) =>
    app.post(path, async (context) => {
      const body = await readJsonBody(context, schema);
      const policy = requestPolicy(context);
      // A request another node forwarded here is served here or not at all: it never bounces on.
      const forwarded = context.req.header("x-herd-forwarded") !== undefined;
      const upstream = await dispatch({
        router: dependencies.router,
        model: body.model,
        path,
        body,
        signal: context.req.raw.signal,
        localOnly: forwarded,
        policy,
        forwardToNode: dependencies.forwardToNode,
        retryForMs: 60_000,
        check: (route) => {
          if (path !== "/v1/embeddings" || route.embeddings) return;
          route.release();
          throw new InvalidRequestError(
            `model '${body.model}' is loaded without embeddings; unload it and run 'herd load ${body.model} --embeddings'`,
            "model",
          );
        },
      });
      return sendEngineResponse(context, upstream);
    });

  passThrough("/v1/chat/completions", ChatCompletionRequest);
  passThrough("/v1/completions", CompletionRequest);
  passThrough("/v1/embeddings", EmbeddingRequest);
  return app;
}

function toOpenAIModel(model: { name: string; importedAt: string }) {
  return {
    id: model.name,
    object: "model",
    created: Math.floor(Date.parse(model.importedAt) / 1000),
    owned_by: "herd",
  };
}
