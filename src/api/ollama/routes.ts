import { type Context, Hono } from "hono";
import { dispatch } from "../../inference/dispatch.js";
import { ContextLengthExceededError, InvalidRequestError } from "../../protocol/errors.js";
import type { ApiDependencies } from "../api-dependencies.js";
import { startAutoload } from "../autoload.js";
import { answerChat, type ChatAdapter } from "../chat/answer-chat.js";
import { engineRefusal } from "../engine-refusal.js";
import { mapError } from "../error-mapping.js";
import { errorBodyFor } from "../error-shapes.js";
import { resolveModelName } from "../model-names.js";
import { readJsonBody } from "../read-json-body.js";
import { requestPolicy } from "../request-policy.js";
import { isClusterForwarded } from "../security/api-security.js";
import { ollamaModelRoutes } from "./model-routes.js";
import { ChatRequest, EmbeddingsRequest, EmbedRequest, GenerateRequest } from "./schemas.js";
import { chatToEngineRequest, generateToEngineRequest } from "./to-engine-request.js";
import { collectProtocolResponse, type OllamaAnswerShape, toProtocolStream } from "./to-protocol-stream.js";

function adapter(shape: OllamaAnswerShape): ChatAdapter {
  return {
    contentType: "application/x-ndjson",
    toProtocolStream: (parts) => toProtocolStream(parts, shape),
    collectProtocolResponse: (answer) => collectProtocolResponse(answer, shape),
    errorText: (error) => `${JSON.stringify(errorBodyFor("ollama", mapError(error)))}\n`,
  };
}

/**
 * Ollama's API. Chat becomes an engine chat request; generate a chat, a plain completion (`raw`,
 * or a model without a chat template) or a fill-in-the-middle (`suffix`), as Ollama would run it.
 * Answers stream as NDJSON unless `stream` is false, as Ollama does.
 */
export function ollamaRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();

  app.post("/api/chat", async (context) => {
    const startedAt = performance.now();
    const body = await readJsonBody(context, ChatRequest);
    const model = await resolveModelName(dependencies.models, body.model, dependencies.router);
    if (body.messages.length === 0) return loadOrUnload(context.req.raw.signal, body, model, "chat");
    return answerChat(context, dependencies, adapter({ kind: "chat", model: body.model }), {
      request: chatToEngineRequest(body, model),
      path: "/v1/chat/completions",
      stream: body.stream !== false,
      startedAt,
    });
  });

  app.post("/api/generate", async (context) => {
    const startedAt = performance.now();
    const body = await readJsonBody(context, GenerateRequest);
    const model = await resolveModelName(dependencies.models, body.model, dependencies.router);
    if (body.prompt === "" && !body.images?.length) {
      return loadOrUnload(context.req.raw.signal, body, model, "generate");
    }
    // A model only another node or an upstream holds is taken to have a chat template, as most do.
    const profile = await dependencies.models.get(model);
    const { request, path } = generateToEngineRequest(body, model, {
      hasChatTemplate: profile?.hasChatTemplate ?? true,
    });
    return answerChat(context, dependencies, adapter({ kind: "generate", model: body.model }), {
      request,
      path,
      stream: body.stream !== false,
      startedAt,
    });
  });

  /**
   * Ollama's way to load a model (a request with nothing to answer) or, with `keep_alive: 0`, to
   * unload it. Loading needs `--autoload`; without it the answer says to run `herd load`.
   */
  const loadOrUnload = async (
    signal: AbortSignal,
    body: { model: string; keep_alive?: string | number },
    model: string,
    kind: "chat" | "generate",
  ) => {
    const base = { model: body.model, created_at: new Date().toISOString() };
    const reply = kind === "chat" ? { message: { role: "assistant", content: "" } } : { response: "" };
    if (body.keep_alive === 0 || body.keep_alive === "0" || body.keep_alive === "0s") {
      await dependencies.models.require(model);
      await dependencies.instances.unload(model);
      return Response.json({ ...base, ...reply, done: true, done_reason: "unload" });
    }
    const load = await startAutoload(dependencies, model, signal);
    if (load) await load.ready;
    else (await dependencies.router.route(model)).release();
    return Response.json({ ...base, ...reply, done: true, done_reason: "load" });
  };

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

  app.route("/", ollamaModelRoutes(dependencies));
  return app;
}
