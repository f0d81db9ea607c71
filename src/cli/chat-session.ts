import { createInterface } from "node:readline";
import type { ChatRequest, HerdClient } from "../client/herd-client.js";
import { type ChatSettings, interpretChatLine } from "./chat-commands.js";
import { formatReplyTiming, streamReply } from "./stream-reply.js";

type Message = ChatRequest["messages"][number];

/** The chat request for the conversation so far, with the session's settings. */
export function chatRequest(model: string, messages: Message[], settings: ChatSettings): ChatRequest {
  return {
    model,
    messages: settings.system ? [{ role: "system", content: settings.system }, ...messages] : messages,
    temperature: settings.temperature,
    max_tokens: settings.maxTokens,
  };
}

/**
 * A conversation on the terminal, as `ollama run` has: each line is sent with the conversation so
 * far and the reply streams back; `/`-commands change settings; Ctrl-C stops a reply (and forgets
 * that exchange) but not the session; `/bye` or Ctrl-D ends it.
 */
export async function runChatSession(api: HerdClient, model: string, initial: ChatSettings): Promise<void> {
  const terminal = createInterface({ input: process.stdin, output: process.stdout, prompt: ">>> " });
  let settings = initial;
  let messages: Message[] = [];
  let replying: AbortController | undefined;
  terminal.on("SIGINT", () => {
    if (replying) return replying.abort();
    process.stdout.write("\nUse Ctrl + d or /bye to exit.\n");
    terminal.prompt();
  });
  const say = (text: string) => process.stdout.write(`${text}\n`);
  terminal.prompt();
  for await (const line of terminal) {
    const action = interpretChatLine(line, settings);
    if (action.type === "exit") break;
    if (action.type === "clear") {
      messages = [];
      say(action.message);
    } else if (action.type === "settings") {
      settings = action.settings;
      say(action.message);
    } else if (action.type === "help") say(action.message);
    else if (action.type === "send") {
      const asked: Message[] = [...messages, { role: "user", content: action.text }];
      replying = new AbortController();
      try {
        const reply = await streamReply(api, chatRequest(model, asked, settings), {
          signal: replying.signal,
          write: (text) => process.stdout.write(text),
        });
        say("\n");
        if (!reply.stopped) messages = [...asked, { role: "assistant", content: reply.text }];
        if (settings.verbose) process.stderr.write(`${formatReplyTiming(reply.timing)}\n\n`);
      } catch (error) {
        // A failed reply (the instance went away, a refused key) ends that exchange, not the chat.
        say(`\nherd: ${(error as Error).message}\n`);
      } finally {
        replying = undefined;
      }
    }
    terminal.prompt();
  }
  terminal.close();
}
