import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HerdProcess, sharedModelPath, stopAllHerdProcesses } from "./support/herd-process.js";
import { closeAllTerminals, Terminal } from "./support/terminal.js";

const repositoryRoot = new URL("..", import.meta.url).pathname;
let node: HerdProcess;

beforeAll(async () => {
  node = await HerdProcess.start();
  await node.cliEach([
    ["models", "import", sharedModelPath],
    ["load", "stories260K", "--parallel", "1", "--ctx", "1024"],
    // Random weights: a greedy reply runs until the context is full, long enough to stop with Ctrl-C.
    ["models", "synth", "--name", "noise", "--layers", "2", "--embedding", "128", "--heads", "2"],
  ]);
});

afterAll(async () => {
  await closeAllTerminals();
  await stopAllHerdProcesses();
});

/** `herd run ...` with `input` piped to its stdin, as a script would run it. */
function runPiped(args: string[], input: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "run", ...args], {
      cwd: repositoryRoot,
      env: { ...process.env, HERD_URL: node.url },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** What the chat API answers, not streamed, to one message at temperature 0. */
async function expectedAnswer(prompt: string, maxTokens: number): Promise<string> {
  const response = await fetch(`${node.url}/v1/chat/completions`, {
    method: "POST",
    body: JSON.stringify({
      model: "stories260K",
      messages: [{ role: "user", content: prompt }],
      temperature: 0,
      max_tokens: maxTokens,
    }),
  });
  const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
  return body.choices[0]!.message.content;
}

const prompts = (screen: string) => screen.split("\n").filter((line) => /^>>>( |$)/.test(line)).length;

describe("herd run", () => {
  it("answers a PROMPT once, or a prompt piped in, with what the API answers", async () => {
    const expected = await expectedAnswer("Once upon a time", 16);
    expect(expected.length).toBeGreaterThan(0);
    const flags = ["--temperature", "0", "--max-tokens", "16"];
    const argument = await node.cli(["run", "stories260K", "Once", "upon", "a", "time", ...flags]);
    expect({ code: argument.code, stdout: argument.stdout }).toEqual({ code: 0, stdout: `${expected}\n` });
    const piped = await runPiped(["stories260K", ...flags, "--verbose"], "Once upon a time\n");
    expect({ code: piped.code, stdout: piped.stdout }).toEqual({ code: 0, stdout: `${expected}\n` });
    expect(piped.stderr).toMatch(/^time to first token \d+ ms, 16 tokens at \d+\.\d tokens\/s\n$/);

    const unknown = await node.cli(["run", "nothing-by-this-name", "hi"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^herd: .*nothing-by-this-name/);
    const empty = await runPiped(["stories260K"], "");
    expect({ code: empty.code, stderr: empty.stderr }).toEqual({
      code: 1,
      stderr: "herd: nothing to send: give a PROMPT, or pipe one in\n",
    });
  });

  it("chats on a terminal: several turns, /clear, /set, Ctrl-C stops a reply and not the session, /bye", async () => {
    const terminal = await Terminal.start(
      [
        process.execPath,
        "--import",
        "tsx",
        `${repositoryRoot}src/cli/main.ts`,
        "run",
        "stories260K",
        "--verbose",
      ],
      { HERD_URL: node.url, PATH: process.env.PATH ?? "" },
    );
    await terminal.waitFor("the prompt", (screen) => screen.endsWith(">>>"));
    await terminal.send("/set temperature 0", "Enter");
    await terminal.waitFor("the setting", (screen) => screen.includes("Set temperature to 0."));
    await terminal.send("/set max-tokens 12", "Enter");
    await terminal.waitFor("the setting", (screen) => screen.includes("Set max-tokens to 12."));

    /** Sends a line and returns the reply's text, between the line and the timing line. */
    const ask = async (text: string) => {
      const before = prompts(await terminal.screen());
      await terminal.send(text, "Enter");
      const screen = await terminal.waitFor(
        "the reply",
        (current) => prompts(current) > before && /tokens\/s\n\n>>>$/.test(current),
      );
      const lines = screen.split("\n");
      const asked = lines.lastIndexOf(`>>> ${text}`);
      const timing = lines.findIndex(
        (line, index) => index > asked && line.startsWith("time to first token"),
      );
      return lines
        .slice(asked + 1, timing)
        .join("\n")
        .trim();
    };
    const first = await ask("Once upon a time");
    expect(first).toBe((await expectedAnswer("Once upon a time", 12)).trim());
    // The same words again, after the first exchange: the model now sees the conversation.
    const again = await ask("Once upon a time");
    expect(again).not.toBe(first);
    await terminal.send("/clear", "Enter");
    await terminal.waitFor("the clear", (screen) => screen.includes("Cleared the conversation."));
    expect(await ask("Once upon a time")).toBe(first);
    await terminal.send("/bye", "Enter");
    await terminal.waitFor("the exit", (screen) => screen.endsWith("EXITED 0"));

    const noise = await Terminal.start(
      [process.execPath, "--import", "tsx", `${repositoryRoot}src/cli/main.ts`, "run", "noise", "--verbose"],
      { HERD_URL: node.url, PATH: process.env.PATH ?? "" },
    );
    await noise.waitFor("the question", (screen) =>
      screen.endsWith("noise is not loaded. Load it now? [Y/n]"),
    );
    await noise.send("y", "Enter");
    const loaded = await noise.waitFor("the prompt", (screen) => screen.endsWith(">>>"), 60_000);
    expect(loaded).toMatch(/noise-\w+: READY \(serving on 127\.0\.0\.1:\d+, warmed up in \d+ ms\)\n>>>$/);
    // Greedy: random weights sampled at a temperature can draw the end-of-text token within a
    // few dozen tokens, before Ctrl-C arrives; greedy they run until the context is full.
    await noise.send("/set temperature 0", "Enter");
    await noise.waitFor("the setting", (screen) => screen.includes("Set temperature to 0."));
    await noise.send("Tell me everything", "Enter");
    await noise.waitFor("a reply under way", (screen) => /Tell me everything\n.*\S/.test(screen));
    await noise.send("C-c");
    const stopped = await noise.waitFor("the prompt again", (screen) => prompts(screen) === 3);
    // A stopped reply has no token count: the engine never finished it.
    expect(stopped).toMatch(/\ntime to first token \d+ ms\n\n>>>$/);
    await noise.send("C-c");
    await noise.waitFor("the hint", (screen) => screen.includes("Use Ctrl + d or /bye to exit."));
    await noise.send("/bye", "Enter");
    await noise.waitFor("the exit", (screen) => screen.endsWith("EXITED 0"));
  });
});
