import { type Context, Hono } from "hono";
import type { z } from "zod";
import { dispatchContinuing } from "../../inference/continue-reply.js";
import type { LocalRoute } from "../../inference/router.js";
import { InvalidRequestError } from "../../protocol/errors.js";
import { everyWhile } from "../../util/every-while.js";
import { openAIAliasModels } from "../alias-listings.js";
import { anthropicModelPage, ModelPageQuery, toAnthropicModel } from "../anthropic/model-page.js";
import type { ApiDependencies } from "../api-dependencies.js";
import { startAutoload } from "../autoload.js";
import { engineRefusal } from "../engine-refusal.js";
import { mapError, openAIErrorBody } from "../error-mapping.js";
import { isAnthropicClient } from "../error-shapes.js";
import { failoverSettings } from "../failover-settings.js";
import { resolveModelName } from "../model-names.js";
import { readJsonBody } from "../read-json-body.js";
import { requestPolicy } from "../request-policy.js";
import { isClusterForwarded } from "../security/api-security.js";
import { sendEngineResponse } from "../send-engine-response.js";
import { clientAbort, streamResponse } from "../stream-response.js";
import { answerFillInTheMiddle } from "./fill-in-the-middle.js";
import { responsesRoutes } from "./responses/routes.js";
import { ChatCompletionRequest, CompletionRequest, EmbeddingRequest, InfillRequest } from "./schemas.js";

/**
 * OpenAI's API. llama-server speaks it already, so a request is validated, routed, and passed
 * through with its response streamed back byte for byte; herd adds nothing in the token path but
 * the model's name as the store knows it (`name:latest` is `name`) and timing trailers.
 */
export function openAIRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();

  // Anthropic's SDK asks the same paths; it gets Anthropic's shape (see isAnthropicClient).
  app.get("/v1/models", async (context) => {
    const models = await dependencies.models.list();
    const local = new Set(models.map((model) => model.name as string));
    // Models only an upstream serves are listed too: requests for them are routed there.
    const external = dependencies.router.upstreamModels().filter((model) => !local.has(model.name));
    if (isAnthropicClient(context.req.raw.headers)) {
      const query = ModelPageQuery.parse(context.req.query());
      const listed = [
        ...models.map((model) => toAnthropicModel(model.name, Date.parse(model.importedAt))),
        ...external.map((model) => toAnthropicModel(model.name, 0)),
        ...openAIAliasModels(dependencies).map((alias) => toAnthropicModel(alias.id, 0)),
      ];
      return context.json(anthropicModelPage(listed, query));
    }
    return context.json({
      object: "list",
      data: [
        ...models.map(toOpenAIModel),
        ...external.map((model) => ({
          id: model.name,
          object: "model",
          created: 0,
          owned_by: model.upstream,
        })),
        ...openAIAliasModels(dependencies),
      ],
    });
  });

  app.get("/v1/models/:model{.+}", async (context) => {
    const name = await resolveModelName(dependencies.models, context.req.param("model"));
    const model = await dependencies.models.require(name);
    if (isAnthropicClient(context.req.raw.headers)) {
      return context.json(toAnthropicModel(model.name, Date.parse(model.importedAt)));
    }
    return context.json(toOpenAIModel(model));
  });

  const passThrough = <T extends z.ZodType<{ model: string; stream?: boolean | null }>>(
    path: string,
    schema: T,
    /** Answers the requests this path's engine endpoint does not serve as they are (undefined: pass). */
    divert?: (context: Context, body: z.infer<T>, startedAt: number) => Promise<Response | undefined>,
  ) =>
    app.post(path, async (context) => {
      const startedAt = performance.now();
      const body = await readJsonBody(context, schema);
      const diverted = await divert?.(context, body, startedAt);
      if (diverted) return diverted;
      const model = await resolveModelName(dependencies.models, body.model, dependencies.router);
      const engineBody = model === body.model ? body : { ...body, model };
      const abort = clientAbort(context);
      // A request another node forwarded here is served here or not at all: it never bounces on.
      const forwarded = isClusterForwarded(context);
      const send = () =>
        dispatchContinuing(
          {
            router: dependencies.router,
            model,
            path,
            body: engineBody,
            signal: abort.signal,
            localOnly: forwarded,
            policy: requestPolicy(context),
            forwardToNode: dependencies.forwardToNode,
            retryForMs: 60_000,
            check: (route) => refuseWithoutEmbeddings(path, model, route),
          },
          failoverSettings(dependencies, "comment"),
        );
      const load = await startAutoload(dependencies, model, abort.signal);
      if (load && body.stream === true) {
        // The stream starts now, with SSE comments while the model loads; then the engine's bytes.
        let source: object | undefined;
        return streamResponse(
          context,
          {
            contentType: "text/event-stream",
            abort,
            gatherMs: dependencies.streamGatherMs,
            source: () => source,
            errorText: (error) => `data: ${JSON.stringify(openAIErrorBody(mapError(error)))}\n\n`,
          },
          async (writer) => {
            await everyWhile(load.ready, 5_000, () => writer.write(": loading the model\n\n"));
            const upstream = await send();
            source = upstream.body;
            if (upstream.status === 200) {
              for await (const chunk of upstream.body) writer.write(chunk as Uint8Array);
              return undefined;
            }
            // The engine refused the request; the status is sent already, so its error becomes an event.
            let text = "";
            for await (const chunk of upstream.body) text += chunk;
            writer.write(
              `data: ${JSON.stringify(openAIErrorBody(mapError(engineRefusal(upstream.status, text))))}\n\n`,
            );
            return undefined;
          },
        );
      }
      if (load) await load.ready;
      return sendEngineResponse(context, await send(), startedAt, dependencies.streamGatherMs);
    });

  passThrough("/v1/chat/completions", ChatCompletionRequest);
  // A completion with a suffix (fill in the middle) goes to the engine's /infill instead.
  passThrough("/v1/completions", CompletionRequest, (context, body, startedAt) =>
    answerFillInTheMiddle(context, dependencies, body, startedAt),
  );
  passThrough("/v1/embeddings", EmbeddingRequest);
  // The Responses API is herd's own, on the engine's chat completions.
  app.route("/", responsesRoutes(dependencies));
  // llama-server's extension (the prompt's token count); Anthropic's count_tokens is served by it,
  // and a node forwards it here when another node heads the model.
  passThrough("/v1/chat/completions/input_tokens", ChatCompletionRequest);
  // llama-server's extension (the prompt after the chat template): a reply continued on another
  // instance starts from it, and a node forwards it here when another node heads the model.
  passThrough("/apply-template", ChatCompletionRequest);
  passThrough("/infill", InfillRequest);
  return app;
}

/** Embeddings asked of an instance started without them: refused, its route released. */
function refuseWithoutEmbeddings(path: string, model: string, route: LocalRoute): void {
  if (path !== "/v1/embeddings" || route.embeddings) return;
  route.release();
  throw new InvalidRequestError(
    `model '${model}' is loaded without embeddings; unload it and run 'herd load ${model} --embeddings'`,
    "model",
  );
}

function toOpenAIModel(model: { name: string; importedAt: string }) {
  return {
    id: model.name,
    object: "model",
    created: Math.floor(Date.parse(model.importedAt) / 1000),
    owned_by: "herd",
  };
}
