import { Hono } from "hono";
import type { ApiDependencies } from "../api-dependencies.js";
import { answerChat, type ChatAdapter } from "../chat/answer-chat.js";
import { mapError } from "../error-mapping.js";
import { errorBodyFor } from "../error-shapes.js";
import { resolveModelName } from "../model-names.js";
import { readJsonBody } from "../read-json-body.js";
import { ollamaEmbedRoutes } from "./embed-routes.js";
import { loadOrUnload } from "./load-or-unload.js";
import { ollamaModelRoutes } from "./model-routes.js";
import { ChatRequest, GenerateRequest } from "./schemas.js";
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
    if (body.messages.length === 0)
      return loadOrUnload(dependencies, context.req.raw.signal, body, model, "chat");
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
      return loadOrUnload(dependencies, context.req.raw.signal, body, model, "generate");
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

  app.route("/", ollamaEmbedRoutes(dependencies));
  app.route("/", ollamaModelRoutes(dependencies));
  return app;
}
