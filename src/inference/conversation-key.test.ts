import { describe, expect, it } from "vitest";
import { conversationKey } from "./conversation-key.js";

const chat = (...messages: Array<[string, string]>) => ({
  model: "m",
  messages: messages.map(([role, content]) => ({ role, content })),
});

describe("conversationKey", () => {
  it("is the same for later turns of one chat", () => {
    const first = chat(["system", "be brief"], ["user", "hello"]);
    const later = chat(["system", "be brief"], ["user", "hello"], ["assistant", "hi"], ["user", "more"]);
    expect(conversationKey(first)).toBe(conversationKey(later));
  });

  it("differs between chats that start differently, and between models", () => {
    expect(conversationKey(chat(["user", "hello"]))).not.toBe(conversationKey(chat(["user", "goodbye"])));
    expect(conversationKey({ ...chat(["user", "hello"]), model: "other" })).not.toBe(
      conversationKey(chat(["user", "hello"])),
    );
  });

  it("follows a completion prompt that grows at the end", () => {
    const start = "x".repeat(600);
    expect(conversationKey({ model: "m", prompt: start })).toBe(
      conversationKey({ model: "m", prompt: `${start} and then` }),
    );
  });

  it("is undefined without a conversation", () => {
    expect(conversationKey({ model: "m", input: "embed me" })).toBeUndefined();
    expect(conversationKey({ model: "m", prompt: [1, 2, 3] })).toBeUndefined();
    expect(conversationKey(chat(["system", "no user yet"]))).toBeUndefined();
  });
});
