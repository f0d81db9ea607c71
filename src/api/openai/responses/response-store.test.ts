import { describe, expect, it } from "vitest";
import type { ResponseObject } from "./response-object.js";
import { ResponseStore, type StoredResponse } from "./response-store.js";
import type { ConversationItem } from "./schemas.js";

/** A stored response whose conversation is one user message of `text` and one assistant message. */
function stored(id: string, text = "hi"): StoredResponse {
  const answer: ConversationItem = {
    type: "message",
    id: `msg_${id}`,
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text: `re: ${text}`, annotations: [], logprobs: [] }],
  };
  return {
    response: { id, output: [answer] } as unknown as ResponseObject,
    conversation: [{ type: "message", role: "user", content: [{ type: "input_text", text }] }, answer],
  };
}

describe("ResponseStore", () => {
  it("forgets the least recently used response past its count", () => {
    const store = new ResponseStore({ maxEntries: 2 });
    store.put(stored("a"));
    store.put(stored("b"));
    expect(store.get("a")).toBeDefined(); // a is now the most recently used
    store.put(stored("c"));
    expect([store.get("a"), store.get("b"), store.get("c")].map((entry) => entry?.response.id)).toEqual([
      "a",
      undefined,
      "c",
    ]);
  });

  it("forgets a response past its age", () => {
    let now = 0;
    const store = new ResponseStore({ maxAgeMs: 1000, now: () => now });
    store.put(stored("a"));
    now = 1000;
    expect(store.get("a")).toBeDefined();
    now = 1001;
    expect(store.get("a")).toBeUndefined();
    expect(store.findItem("msg_a")).toBeUndefined();
  });

  it("keeps its conversations within a size, and none larger than the whole", () => {
    const size = JSON.stringify(stored("a", "x".repeat(100)).conversation).length;
    const store = new ResponseStore({ maxCharacters: size * 2 + 10 });
    for (const id of ["a", "b", "c"]) store.put(stored(id, "x".repeat(100)));
    expect(store.size).toBe(2);
    expect(store.get("a")).toBeUndefined();
    store.put(stored("huge", "x".repeat(size * 3)));
    expect(store.get("huge")).toBeUndefined();
    expect(store.size).toBe(2);
  });

  it("finds an item of a stored conversation by its id, deletes, and disposes twice", () => {
    const store = new ResponseStore();
    store.put(stored("a"));
    expect(store.findItem("msg_a")).toMatchObject({ role: "assistant" });
    expect(store.delete("a")).toBe(true);
    expect(store.delete("a")).toBe(false);
    store.put(stored("b"));
    store.dispose();
    store.dispose();
    expect(store.size).toBe(0);
  });
});
