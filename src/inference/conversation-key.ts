import { hash } from "node:crypto";

/** Characters of a completion prompt that identify its conversation (a continued prompt keeps them). */
const promptPrefixCharacters = 512;

/**
 * A key shared by the requests of one conversation, so they can go to the instance whose prompt
 * cache holds it. A chat's later turns repeat its first messages, so the key is its system messages
 * and first user message; a completion's prompt grows at the end, so the key is its beginning.
 * Undefined when the request has neither (embeddings, token prompts).
 */
export function conversationKey(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const { model, messages, prompt } = body as { model?: unknown; messages?: unknown; prompt?: unknown };
  let identity: unknown;
  if (Array.isArray(messages)) {
    const firstUser = messages.findIndex((message) => (message as { role?: unknown })?.role === "user");
    if (firstUser < 0) return undefined;
    identity = messages.slice(0, firstUser + 1).map((message) => {
      const { role, content } = message as { role?: unknown; content?: unknown };
      return [role, content];
    });
  } else if (typeof prompt === "string" && prompt.length > 0) {
    identity = prompt.slice(0, promptPrefixCharacters);
  } else {
    return undefined;
  }
  // One-shot: no Hash object per request (this runs before every request's first token).
  return hash("sha256", JSON.stringify([model, identity]), "base64url").slice(0, 22);
}
