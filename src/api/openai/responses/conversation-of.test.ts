import { describe, expect, it } from "vitest";
import { InvalidRequestError, PreviousResponseNotFoundError } from "../../../protocol/errors.js";
import { conversationOf } from "./conversation-of.js";
import type { ResponseObject } from "./response-object.js";
import { ResponseStore } from "./response-store.js";
import { type ConversationItem, ResponsesRequest } from "./schemas.js";

const question: ConversationItem = {
  type: "message",
  role: "user",
  content: [{ type: "input_text", text: "first" }],
};
const answer: ConversationItem = {
  type: "message",
  id: "msg_a",
  role: "assistant",
  status: "completed",
  content: [{ type: "output_text", text: "re: first", annotations: [], logprobs: [] }],
};

const request = (fields: object) => ResponsesRequest.parse({ model: "m", ...fields });

describe("conversationOf", () => {
  it("continues the previous response's conversation, references replaced by their items", () => {
    const store = new ResponseStore();
    store.put({
      response: { id: "resp_a", output: [answer] } as unknown as ResponseObject,
      conversation: [question, answer],
    });
    const conversation = conversationOf(
      request({
        previous_response_id: "resp_a",
        input: [
          { type: "item_reference", id: "msg_a" },
          { role: "user", content: "second" },
        ],
      }),
      store,
    );
    expect(conversation).toEqual([
      question,
      answer,
      answer,
      { type: "message", role: "user", content: [{ type: "input_text", text: "second" }] },
    ]);
  });

  it("is the input alone without a previous response", () => {
    expect(conversationOf(request({ input: "hi" }), new ResponseStore())).toEqual([
      { type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] },
    ]);
  });

  it("refuses a previous response or an item it does not keep", () => {
    const store = new ResponseStore();
    expect(() => conversationOf(request({ previous_response_id: "resp_x", input: "hi" }), store)).toThrow(
      PreviousResponseNotFoundError,
    );
    expect(() =>
      conversationOf(request({ input: [{ type: "item_reference", id: "msg_x" }] }), store),
    ).toThrow(InvalidRequestError);
  });
});
