import { type Context, Hono } from "hono";
import { dispatch } from "../../inference/dispatch.js";
import { ContextLengthExceededError, InvalidRequestError } from "../../protocol/errors.js";
import type { ApiDependencies } from "../api-dependencies.js";
import { startAutoload } from "../autoload.js";
import { engineRefusal } from "../engine-refusal.js";
import { resolveModelName } from "../model-names.js";
import { readJsonBody } from "../read-json-body.js";
import { requestPolicy } from "../request-policy.js";
import { isClusterForwarded } from "../security/api-security.js";
import { EmbeddingsRequest, EmbedRequest } from "./schemas.js";

/** Ollama's embeddings: `/api/embed` (a batch) and the older `/api/embeddings` (one prompt). */
export function ollamaEmbedRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();
  const embed = async (context: Context, forwarded: boolean, requested: string, input: string | string[]) => {
    const signal = context.req.raw.signal;
    const startedAt = performance.now();
    const model = await resolveModelName(dependencies.models, requested, dependencies.router);
    const load = await startAutoload(dependencies, model, signal);
    if (load) await load.ready;
    const loadMs = load ? performance.now() - startedAt : 0;
    const upstream = await dispatch({
      router: dependencies.router,
      model,
      path: "/v1/embeddings",
      body: { model, input },
      signal,
      localOnly: forwarded,
      policy: requestPolicy(context),
      forwardToNode: dependencies.forwardToNode,
      retryForMs: 60_000,
      check: (route) => {
        if (route.embeddings) return;
        route.release();
        throw new InvalidRequestError(
          `model '${requested}' is loaded without embeddings; unload it and run 'herd load ${model} --embeddings'`,
          "model",
        );
      },
    });
    let text = "";
    for await (const chunk of upstream.body) text += chunk;
    if (upstream.status !== 200) {
      // Whatever else the engine refuses here is the input (longer than a batch, say): the client's to change.
      const refusal = engineRefusal(upstream.status, text);
      if (refusal instanceof ContextLengthExceededError) throw refusal;
      throw new InvalidRequestError(`the engine refused the input: ${text.slice(0, 300)}`, "input");
    }
    const answer = JSON.parse(text) as {
      data: Array<{ embedding: number[]; index: number }>;
      usage?: { prompt_tokens?: number };
    };
    const embeddings = [...answer.data].sort((a, b) => a.index - b.index).map((item) => item.embedding);
    return {
      embeddings,
      total_duration: Math.round((performance.now() - startedAt) * 1e6),
      load_duration: Math.round(loadMs * 1e6),
      prompt_eval_count: answer.usage?.prompt_tokens ?? 0,
    };
  };

  app.post("/api/embed", async (context) => {
    const body = await readJsonBody(context, EmbedRequest);
    const forwarded = isClusterForwarded(context);
    const result = await embed(context, forwarded, body.model, body.input);
    return context.json({ model: body.model, ...result });
  });

  app.post("/api/embeddings", async (context) => {
    const body = await readJsonBody(context, EmbeddingsRequest);
    const forwarded = isClusterForwarded(context);
    const result = await embed(context, forwarded, body.model, body.prompt);
    return context.json({ embedding: result.embeddings[0] ?? [] });
  });
  return app;
}
