import { randomBytes } from "node:crypto";
import { Hono } from "hono";
import { NotFoundError } from "../../../protocol/errors.js";
import type { ApiDependencies } from "../../api-dependencies.js";
import { answerChat } from "../../chat/answer-chat.js";
import { resolveModelName } from "../../model-names.js";
import { readJsonBody } from "../../read-json-body.js";
import { collectProtocolResponse } from "./collect-protocol-response.js";
import { conversationOf } from "./conversation-of.js";
import { asConversationItems, type ResponseContext, type ResponseObject } from "./response-object.js";
import { ResponsesRequest } from "./schemas.js";
import { toEngineRequest } from "./to-engine-request.js";
import { toProtocolStream } from "./to-protocol-stream.js";

/** An id as OpenAI writes them: a prefix naming the kind, then 48 hex digits. */
function newId(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString("hex")}`;
}

function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * OpenAI's Responses API, on the engine's chat completions. A finished response is kept in the
 * node's response store (unless `store: false`) so that `previous_response_id` can continue its
 * conversation and `GET /v1/responses/{id}` can return it.
 */
export function responsesRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();
  const store = dependencies.responses;

  app.post("/v1/responses", async (context) => {
    const startedAt = performance.now();
    const body = await readJsonBody(context, ResponsesRequest);
    const model = await resolveModelName(dependencies.models, body.model, dependencies.router);
    const conversation = conversationOf(body, store);
    const response: ResponseContext = {
      id: newId("resp"),
      createdAt: unixSeconds(),
      model: body.model,
      request: body,
      newItemId: newId,
      now: unixSeconds,
    };
    const remember = (final: ResponseObject) => {
      if (body.store === false) return;
      store.put({ response: final, conversation: [...conversation, ...asConversationItems(final.output)] });
    };
    return answerChat(
      context,
      dependencies,
      {
        contentType: "text/event-stream",
        toProtocolStream: (parts) => toProtocolStream(parts, response, remember),
        collectProtocolResponse: (answer) => {
          const final = collectProtocolResponse(answer, response);
          remember(final);
          return final;
        },
        // toProtocolStream ends a stream that fails with its own response.failed event.
        errorText: () => "",
      },
      {
        request: toEngineRequest(body, conversation, model),
        path: "/v1/chat/completions",
        stream: body.stream === true,
        startedAt,
      },
    );
  });

  app.get("/v1/responses/:id", (context) => {
    const id = context.req.param("id");
    const stored = store.get(id);
    if (!stored) throw new NotFoundError(`Response with id '${id}' not found.`);
    return context.json(stored.response);
  });

  app.delete("/v1/responses/:id", (context) => {
    const id = context.req.param("id");
    if (!store.delete(id)) throw new NotFoundError(`Response with id '${id}' not found.`);
    return context.json({ id, object: "response.deleted", deleted: true });
  });

  return app;
}
