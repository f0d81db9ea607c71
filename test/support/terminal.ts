import { randomBytes } from "node:crypto";
import { runCommand } from "../../src/engine/run-command.js";

const live = new Set<Terminal>();

/**
 * A real terminal: a detached tmux session running one command, read with capture-pane and typed
 * into with send-keys, as a person at a keyboard would. The command's exit status is printed as
 * `EXITED <code>` when it ends.
 */
export class Terminal {
  private constructor(private readonly session: string) {
    live.add(this);
  }

  static async start(command: string[], env: Record<string, string>): Promise<Terminal> {
    const session = `herd-test-${randomBytes(4).toString("hex")}`;
    const exports = Object.entries(env).map(([name, value]) => `${name}=${shellQuote(value)}`);
    const line = `env ${exports.join(" ")} ${command.map(shellQuote).join(" ")}; echo "EXITED $?"; sleep 600`;
    await tmux(["new-session", "-d", "-s", session, "-x", "160", "-y", "50", line]);
    return new Terminal(session);
  }

  /** The whole screen and its scrollback, without trailing blank lines. */
  async screen(): Promise<string> {
    const captured = await tmux(["capture-pane", "-p", "-J", "-S", "-1000", "-t", this.session]);
    return captured.replace(/\s+$/, "");
  }

  /** Types keys: text, or tmux key names such as `Enter` and `C-c`. */
  async send(...keys: string[]): Promise<void> {
    for (const key of keys) {
      const literal = key !== "Enter" && !/^C-.$/.test(key);
      await tmux(["send-keys", "-t", this.session, ...(literal ? ["-l", key] : [key])]);
    }
  }

  /** Waits until the screen satisfies `check`, returning the screen; fails with the screen shown. */
  async waitFor(what: string, check: (screen: string) => boolean, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let screen = "";
    while (Date.now() < deadline) {
      screen = await this.screen();
      if (check(screen)) return screen;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`timed out waiting for ${what}; the screen:\n${screen}`);
  }

  async dispose(): Promise<void> {
    live.delete(this);
    await tmux(["kill-session", "-t", this.session]).catch(() => {});
  }
}

/** Closes every terminal a test left open; for `afterAll`. */
export async function closeAllTerminals(): Promise<void> {
  await Promise.all([...live].map((terminal) => terminal.dispose()));
}

async function tmux(args: string[]): Promise<string> {
  const result = await runCommand("tmux", args, { timeoutMs: 10_000 });
  if (result.code !== 0) throw new Error(`tmux ${args[0]} failed: ${result.stderr}`);
  return result.stdout;
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, "'\\''")}'`;
}
