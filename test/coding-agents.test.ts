import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentContext, chattyAnswer, loadAgentModels } from "./support/agent-models.js";
import { HerdProcess, stopAllHerdProcesses } from "./support/herd-process.js";
import { type RecordedExchange, RequestRecorder } from "./support/request-recorder.js";

const repositoryRoot = new URL("..", import.meta.url).pathname;
const claudeBinary = join(repositoryRoot, "node_modules/.bin/claude");
const codexBinary = join(repositoryRoot, "node_modules/.bin/codex");

interface AgentRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs an agent's command line to its end (or kills it at `timeoutMs`), with no standard input. */
function runAgent(
  program: string,
  args: string[],
  options: {
    cwd: string;
    env: NodeJS.ProcessEnv;
    /** Written to its standard input, which is then closed. */
    input?: string;
    timeoutMs?: number;
    stopWhen?: Promise<void>;
  },
): Promise<AgentRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    child.stdin.end(options.input ?? "");
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    // An agent whose model always calls a tool would go on calling it: the test ends it once it has
    // seen what it came for.
    options.stopWhen?.then(
      () => child.kill("SIGTERM"),
      () => child.kill("SIGTERM"),
    );
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every request was served, or refused with an error body in the client's protocol. */
function expectEveryExchangeAnswered(exchanges: RecordedExchange[]): void {
  expect(exchanges.length).toBeGreaterThan(0);
  for (const exchange of exchanges) {
    const where = `${exchange.method} ${exchange.url} -> ${exchange.status}: ${exchange.response.slice(0, 300)}`;
    expect(exchange.status < 500, where).toBe(true);
    // A stream that began 200 carries no error event.
    expect(exchange.response, where).not.toMatch(/^event: error|"type":\s*"error"|response\.failed/m);
  }
}

describe("coding agents against one node, through a recorder", () => {
  let node: HerdProcess;
  let recorder: RequestRecorder;
  let scratch: string;

  beforeAll(async () => {
    node = await HerdProcess.start();
    await loadAgentModels(node);
    recorder = await RequestRecorder.start(node.url);
    scratch = await mkdtemp(join(tmpdir(), "herd-agents-"));
  });
  afterAll(async () => {
    await recorder?.dispose();
    await stopAllHerdProcesses();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  describe("Claude Code", () => {
    /** Claude Code in print mode, with a home of its own and nothing sent anywhere but the node. */
    const claude = async (name: string, args: string[], stopWhen?: Promise<void>, input?: string) => {
      const home = join(scratch, `claude-${name}`);
      const workspace = join(home, "workspace");
      await mkdir(workspace, { recursive: true });
      await writeFile(join(workspace, "notes.txt"), "herd pools machines\n");
      return runAgent(claudeBinary, ["-p", ...args], {
        cwd: workspace,
        stopWhen,
        input,
        env: {
          PATH: process.env.PATH,
          HOME: home,
          ANTHROPIC_BASE_URL: recorder.url,
          ANTHROPIC_API_KEY: "unused",
          // The model behind every tier Claude Code asks for (titles and summaries use the small one).
          ANTHROPIC_DEFAULT_HAIKU_MODEL: "agent-chat",
          ANTHROPIC_SMALL_FAST_MODEL: "agent-chat",
          CLAUDE_CODE_MAX_OUTPUT_TOKENS: "64",
          // The models' context, which Claude Code cannot know for a model name it does not recognize.
          CLAUDE_CODE_MAX_CONTEXT_TOKENS: String(agentContext),
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
          DISABLE_TELEMETRY: "1",
          DISABLE_ERROR_REPORTING: "1",
          DISABLE_AUTOUPDATER: "1",
        },
      });
    };

    it("answers a print-mode turn: every request it sends is served", async () => {
      recorder.clear();
      const run = await claude("print", ["say hello", "--model", "agent-chat"]);
      expect(run.code, `${run.stdout}\n${run.stderr}\n${recorder.summary()}`).toBe(0);
      expect(run.stdout.trim()).toMatch(chattyAnswer);
      const messages = recorder.exchanges.filter((exchange) => exchange.url.startsWith("/v1/messages"));
      expect(messages.length, recorder.summary()).toBeGreaterThan(0);
      expectEveryExchangeAnswered(recorder.exchanges);
    });

    it("makes a tool round trip: the tool's result goes back and is answered", async () => {
      recorder.clear();
      const toolResultSent = recorder.waitUntil(
        "a request carrying a tool result, answered",
        (exchanges) =>
          exchanges.some(
            (exchange) => exchange.status === 200 && JSON.stringify(exchange.body).includes('"tool_result"'),
          ),
        90_000,
      );
      const run = await claude(
        "tools",
        ["read notes.txt", "--model", "agent-tools", "--tools", "Read", "--max-turns", "2"],
        toolResultSent,
      );
      await toolResultSent;
      const calls = recorder.exchanges.filter((exchange) => exchange.url.startsWith("/v1/messages"));
      const first = calls.find((exchange) => exchange.response.includes('"tool_use"'));
      expect(first, `${recorder.summary()}\n${run.stdout}\n${run.stderr}`).toBeDefined();
      expectEveryExchangeAnswered(recorder.exchanges);
    });

    it("shows the user a prompt too long for the model as the error it is", async () => {
      recorder.clear();
      const long = "herd ".repeat(40_000);
      // Too long for a command line: Claude Code reads the prompt from its standard input.
      const run = await claude("long", ["--model", "agent-chat"], undefined, long);
      expect(run.code).not.toBe(0);
      expect(`${run.stdout}${run.stderr}`).toMatch(/prompt is too long/i);
      for (const exchange of recorder.exchanges) expect(exchange.status).toBeLessThan(500);
    });
  });

  describe("Codex CLI", () => {
    /** `codex exec` with herd as a custom provider speaking the Responses API. */
    const codex = async (name: string, model: string, prompt: string, stopWhen?: Promise<void>) => {
      const home = join(scratch, `codex-${name}`);
      const workspace = join(home, "workspace");
      await mkdir(workspace, { recursive: true });
      await writeFile(
        join(home, "config.toml"),
        [
          `model = "${model}"`,
          `model_provider = "herd"`,
          `[model_providers.herd]`,
          `name = "herd"`,
          `base_url = "${recorder.url}/v1"`,
          `wire_api = "responses"`,
          // A refused request is shown to the user at once rather than tried again.
          `request_max_retries = 0`,
          `stream_max_retries = 0`,
          "",
        ].join("\n"),
      );
      return runAgent(codexBinary, ["exec", "--skip-git-repo-check", "--sandbox", "read-only", prompt], {
        cwd: workspace,
        stopWhen,
        env: { PATH: process.env.PATH, HOME: home, CODEX_HOME: home },
      });
    };

    it("completes an exec turn: every request it sends is served", async () => {
      recorder.clear();
      const run = await codex("exec", "agent-chat", "say hello");
      expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
      // What Codex prints on standard output is the model's answer, and nothing else.
      expect(run.stdout.trim()).toMatch(chattyAnswer);
      expect(recorder.exchanges.some((exchange) => exchange.url === "/v1/responses")).toBe(true);
      expectEveryExchangeAnswered(recorder.exchanges);
    });

    it("makes a tool round trip: the function call's output goes back and is answered", async () => {
      recorder.clear();
      const outputSent = recorder.waitUntil(
        "a request carrying a function call's output, answered",
        (exchanges) =>
          exchanges.some(
            (exchange) =>
              exchange.status === 200 && JSON.stringify(exchange.body).includes('"function_call_output"'),
          ),
        // Under the test's own limit, so that a timeout names what was recorded.
        90_000,
      );
      await codex("tools", "agent-tools", "list the files here", outputSent);
      await outputSent;
      const called = recorder.exchanges.find((exchange) =>
        exchange.response.includes('"type":"function_call"'),
      );
      expect(called, recorder.summary()).toBeDefined();
      expectEveryExchangeAnswered(recorder.exchanges);
    });
  });
});
