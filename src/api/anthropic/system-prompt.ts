import type { MessagesRequest } from "./schemas.js";

/**
 * Claude Code opens its system prompt with `x-anthropic-billing-header: cc_version=…; cch=…;`,
 * accounting data for Anthropic's servers whose fields change between requests. Left in, it would
 * make every request's prompt differ from its first token, so the engine could never reuse the
 * cached prefix of an 11K-token system prompt; the model has no use for it either.
 */
const billingHeader = /^x-anthropic-billing-header:(?:\s*[\w.-]+=[^;\n]*;)*[ \t]*\n?/;

/**
 * The one system prompt the engine is given: the request's `system` (its blocks joined by a newline)
 * followed by the text of every `system` message in the conversation. Chat templates accept a
 * single system message, at the start, so instructions sent mid-conversation join it there.
 */
export function systemPrompt(request: Pick<MessagesRequest, "system" | "messages">): string {
  const blocks =
    typeof request.system === "string" ? [request.system] : (request.system ?? []).map((b) => b.text);
  const parts = [
    blocks
      .map((text) => text.replace(billingHeader, ""))
      .filter((text) => text !== "")
      .join("\n"),
  ];
  for (const message of request.messages) {
    if (message.role !== "system") continue;
    parts.push(
      typeof message.content === "string"
        ? message.content
        : message.content.flatMap((block) => (block.type === "text" ? [block.text] : [])).join("\n"),
    );
  }
  return parts.filter((text) => text !== "").join("\n\n");
}
