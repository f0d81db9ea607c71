import { randomBytes } from "node:crypto";
import { Hono } from "hono";
import { dispatch } from "../../inference/dispatch.js";
import { EngineError } from "../../protocol/errors.js";
import type { ApiDependencies } from "../api-dependencies.js";
import { answerChat } from "../chat/answer-chat.js";
import { mapError } from "../error-mapping.js";
import { errorBodyFor } from "../error-shapes.js";
import { resolveModelName } from "../model-names.js";
import { readJsonBody } from "../read-json-body.js";
import { requestPolicy } from "../request-policy.js";
import { isClusterForwarded } from "../security/api-security.js";
import { collectProtocolResponse } from "./collect-protocol-response.js";
import { CountTokensRequest, MessagesRequest } from "./schemas.js";
import { toEngineRequest } from "./to-engine-request.js";
import { anthropicEvent, toProtocolStream } from "./to-protocol-stream.js";

/**
 * Anthropic's Messages API. Requests become engine chat requests and the engine's answer becomes
 * Anthropic's message or event stream. `x-api-key` and `anthropic-version` headers are accepted
 * (every version's shape is the same for what herd serves).
 */
export function anthropicRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();

  app.post("/v1/messages", async (context) => {
    const startedAt = performance.now();
    const body = await readJsonBody(context, MessagesRequest);
    const model = await resolveModelName(dependencies.models, body.model, dependencies.router);
    const message = {
      id: `msg_${randomBytes(12).toString("hex")}`,
      model: body.model,
      stopSequences: body.stop_sequences,
    };
    return answerChat(
      context,
      dependencies,
      {
        contentType: "text/event-stream",
        toProtocolStream: (parts) => toProtocolStream(parts, message),
        collectProtocolResponse: (answer) => collectProtocolResponse(answer, message),
        errorText: (error) => anthropicEvent(errorBodyFor("anthropic", mapError(error)) as { type: string }),
      },
      {
        request: toEngineRequest(body, model),
        path: "/v1/chat/completions",
        stream: body.stream === true,
        startedAt,
      },
    );
  });

  app.post("/v1/messages/count_tokens", async (context) => {
    const body = await readJsonBody(context, CountTokensRequest);
    const model = await resolveModelName(dependencies.models, body.model, dependencies.router);
    const upstream = await dispatch({
      router: dependencies.router,
      model,
      // llama-server's own extension: the prompt's token count for a chat-completions request.
      path: "/v1/chat/completions/input_tokens",
      body: toEngineRequest(body, model),
      signal: context.req.raw.signal,
      localOnly: isClusterForwarded(context),
      policy: requestPolicy(context),
      forwardToNode: dependencies.forwardToNode,
      retryForMs: 60_000,
    });
    let text = "";
    for await (const chunk of upstream.body) text += chunk;
    const counted = upstream.status === 200 ? (JSON.parse(text) as { input_tokens?: unknown }) : {};
    if (typeof counted.input_tokens !== "number") {
      throw new EngineError(
        `the engine could not count tokens (${upstream.status}): ${text.slice(0, 300)}`,
        502,
      );
    }
    return context.json({ input_tokens: counted.input_tokens });
  });

  return app;
}
