/** What a chat in the terminal may change as it goes. */
export interface ChatSettings {
  temperature?: number;
  maxTokens?: number;
  system?: string;
  /** Print time to first token and tokens/s after each reply. */
  verbose: boolean;
}

/** What one line typed into `herd run` asks for. */
export type ChatAction =
  | { type: "send"; text: string }
  | { type: "exit" }
  | { type: "clear"; message: string }
  | { type: "settings"; settings: ChatSettings; message: string }
  | { type: "help"; message: string }
  | { type: "nothing" };

export const chatHelp = [
  "/set temperature 0.2    sampling temperature (0: always the likeliest token)",
  "/set max-tokens 256     longest reply, in tokens",
  "/set system TEXT        a system prompt (and /clear it with /set system)",
  "/set verbose | quiet    show time to first token and tokens/s after each reply, or not",
  "/clear                  forget the conversation",
  "/bye                    leave (or Ctrl-D); Ctrl-C stops a reply",
].join("\n");

/** Reads one line of the chat: a command (`/bye`, `/clear`, `/set ...`, `/help`) or a message to send. */
export function interpretChatLine(line: string, settings: ChatSettings): ChatAction {
  const text = line.trim();
  if (text === "") return { type: "nothing" };
  if (!text.startsWith("/")) return { type: "send", text: line };
  const [command, name, ...rest] = text.split(/\s+/);
  const value = rest.join(" ");
  switch (command) {
    case "/bye":
    case "/exit":
      return { type: "exit" };
    case "/clear":
      return { type: "clear", message: "Cleared the conversation." };
    case "/set":
      return setting(name, value, settings);
    case "/help":
    case "/?":
      return { type: "help", message: chatHelp };
    default:
      return { type: "help", message: `Unknown command '${command}'.\n${chatHelp}` };
  }
}

function setting(name: string | undefined, value: string, settings: ChatSettings): ChatAction {
  const number = Number(value);
  switch (name) {
    case "temperature":
      if (value === "" || !Number.isFinite(number) || number < 0 || number > 2)
        return {
          type: "help",
          message: "The temperature is a number from 0 to 2, e.g. /set temperature 0.2",
        };
      return {
        type: "settings",
        settings: { ...settings, temperature: number },
        message: `Set temperature to ${number}.`,
      };
    case "max-tokens":
      if (!Number.isInteger(number) || number <= 0)
        return { type: "help", message: "max-tokens is a positive whole number, e.g. /set max-tokens 256" };
      return {
        type: "settings",
        settings: { ...settings, maxTokens: number },
        message: `Set max-tokens to ${number}.`,
      };
    case "system":
      return value === ""
        ? {
            type: "settings",
            settings: { ...settings, system: undefined },
            message: "Cleared the system prompt.",
          }
        : { type: "settings", settings: { ...settings, system: value }, message: "Set the system prompt." };
    case "verbose":
      return { type: "settings", settings: { ...settings, verbose: true }, message: "Set verbose mode." };
    case "quiet":
      return { type: "settings", settings: { ...settings, verbose: false }, message: "Set quiet mode." };
    default:
      return { type: "help", message: `Unknown setting '${name ?? ""}'.\n${chatHelp}` };
  }
}
