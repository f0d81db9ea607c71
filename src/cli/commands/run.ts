import { createInterface } from "node:readline/promises";
import { type Command, InvalidArgumentError } from "commander";
import { z } from "zod";
import type { HerdClient } from "../../client/herd-client.js";
import { HerdError } from "../../protocol/errors.js";
import type { ChatSettings } from "../chat-commands.js";
import { chatRequest, runChatSession } from "../chat-session.js";
import { loadAndFollow } from "../load-and-follow.js";
import { formatReplyTiming, streamReply } from "../stream-reply.js";

const RunFlags = z.object({
  verbose: z.boolean().optional(),
  temperature: z.number().optional(),
  maxTokens: z.number().optional(),
  system: z.string().optional(),
});

/** `herd run MODEL [PROMPT]`: a chat in the terminal, or one answer for scripts. */
export function addRunCommand(program: Command, client: () => HerdClient): void {
  program
    .command("run <model> [prompt...]")
    .description(
      "chat with a model in the terminal (loading it first); with a PROMPT, or one piped in, answer once and exit",
    )
    .option("--verbose", "after each reply, print time to first token and tokens/s")
    .option("--temperature <t>", "sampling temperature", number("temperature"))
    .option("--max-tokens <n>", "longest reply, in tokens", number("max-tokens"))
    .option("--system <text>", "a system prompt")
    .action(async (model: string, promptWords: string[], raw: unknown) => {
      const options = RunFlags.parse(raw);
      const api = client();
      const settings: ChatSettings = {
        verbose: options.verbose ?? false,
        temperature: options.temperature,
        maxTokens: options.maxTokens,
        system: options.system,
      };
      const onTerminal = process.stdin.isTTY === true;
      await ensureLoaded(api, model, onTerminal && process.stdout.isTTY === true);
      if (onTerminal && promptWords.length === 0) return runChatSession(api, model, settings);

      const piped = onTerminal ? "" : await readAll(process.stdin);
      const prompt = [promptWords.join(" "), piped.trimEnd()].filter((part) => part !== "").join("\n\n");
      if (prompt.trim() === "") throw new HerdError("nothing to send: give a PROMPT, or pipe one in");
      const stop = new AbortController();
      process.once("SIGINT", () => stop.abort());
      const reply = await streamReply(
        api,
        chatRequest(model, [{ role: "user", content: prompt }], settings),
        {
          signal: stop.signal,
          write: (text) => process.stdout.write(text),
        },
      );
      process.stdout.write("\n");
      if (settings.verbose) process.stderr.write(`${formatReplyTiming(reply.timing)}\n`);
      if (reply.stopped) process.exitCode = 130;
    });
}

/**
 * Loads the model when no instance of it is placed, following the load to READY (its lines on
 * stderr, so stdout holds only the answer). On a terminal it asks first.
 */
async function ensureLoaded(api: HerdClient, model: string, ask: boolean): Promise<void> {
  const view = await api.cluster();
  if (view.desired.instances.some((instance) => instance.model === model)) return;
  if (ask) {
    const question = createInterface({ input: process.stdin, output: process.stdout });
    const answer = await question.question(`${model} is not loaded. Load it now? [Y/n] `);
    question.close();
    if (/^n/i.test(answer.trim()))
      throw new HerdError(`${model} is not loaded (load it with: herd load ${model})`);
  }
  await loadAndFollow(api, { model }, (line) => process.stderr.write(`${line}\n`));
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

function number(name: string) {
  return (value: string) => {
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < 0) throw new InvalidArgumentError(`${name} must be a number`);
    return parsed;
  };
}
