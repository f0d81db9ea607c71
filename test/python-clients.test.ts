import { access } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../src/engine/run-command.js";
import { type HerdProcess, stopAllHerdProcesses } from "./support/herd-process.js";
import { startProtocolNode } from "./support/protocol-node.js";

const repositoryRoot = new URL("..", import.meta.url).pathname;
/** Where `.ci/run` installs test/python/requirements.txt. */
const python = join(repositoryRoot, ".venv-clients/bin/python");

interface ClientCheck {
  client: string;
  version: string;
  check: string;
  ok: boolean;
  detail: string;
  trace?: string;
}

/** The Python clients people use, each as its users first use it, against one node. */
describe("the Python clients (official SDKs, LangChain, LiteLLM, the Agents SDK) against one node", () => {
  let node: HerdProcess;
  let checks: ClientCheck[];

  beforeAll(async () => {
    await access(python).catch(() => {
      throw new Error(
        "no Python clients: run 'python3 -m venv .venv-clients && .venv-clients/bin/pip install -r test/python/requirements.txt' (.ci/run does)",
      );
    });
    node = await startProtocolNode();
    const run = await runCommand(
      python,
      [join(repositoryRoot, "test/python/check_clients.py"), node.url, "stories260K", "tools"],
      { timeoutMs: 300_000, env: { ...process.env, LITELLM_LOCAL_MODEL_COST_MAP: "True" } },
    );
    checks = run.stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as ClientCheck);
    if (checks.length === 0) throw new Error(`the checks printed nothing (${run.code}): ${run.stderr}`);
  });
  afterAll(stopAllHerdProcesses);

  const clients = [
    "openai (Python)",
    "anthropic (Python)",
    "ollama (Python)",
    "LangChain ChatOpenAI",
    "LangChain ChatAnthropic",
    "LangChain ChatOllama",
    "LiteLLM",
    "OpenAI Agents SDK (Python)",
  ];
  for (const client of clients) {
    it(`${client}: every check passes`, () => {
      const mine = checks.filter((check) => check.client === client);
      expect(mine.length).toBeGreaterThan(0);
      for (const check of mine)
        expect(check.ok, `${check.check}: ${check.detail}\n${check.trace ?? ""}`).toBe(true);
    });
  }
});
