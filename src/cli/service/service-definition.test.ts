import { describe, expect, it } from "vitest";
import { environmentFileText, serviceDefinition } from "./service-definition.js";
import { parseExecStart, quoteWord } from "./systemd-unit.js";

const inputs = {
  node: "/usr/bin/node",
  nodeArgs: [],
  entry: "/opt/herd/bin/herd.js",
  packageDirectory: "/opt/herd",
  userHome: "/home/me",
  cwd: "/srv",
};

describe("serviceDefinition", () => {
  it.each([
    {
      situation: "no flags: HERD_HOME defaults to ~/.herd",
      startFlags: [],
      env: { PATH: "/usr/bin" },
      command: ["start"],
      environment: { HERD_HOME: "/home/me/.herd", PATH: "/usr/bin" },
      secrets: {},
    },
    {
      situation: "the join token moves to the secrets file, paths become absolute",
      startFlags: ["--join", "herd1.secret", "--home=data", "--engine-dir", "/opt/llama", "--no-discovery"],
      env: {},
      command: ["start", "--home", "/srv/data", "--engine-dir", "/opt/llama", "--no-discovery"],
      environment: { HERD_HOME: "/srv/data" },
      secrets: { HERD_JOIN: "herd1.secret" },
    },
    {
      situation: "node variables kept, secrets and client variables not inlined",
      startFlags: ["--host", "0.0.0.0"],
      env: {
        HERD_HOME: "rel",
        HERD_ENGINE_CACHE: "/cache",
        HF_ENDPOINT: "https://mirror",
        HF_TOKEN: "hf_abc",
        HERD_API_KEY: "herd-1-x",
        HERD_URL: "http://a:1",
        HOME: "/home/me",
      },
      command: ["start", "--host", "0.0.0.0"],
      environment: { HERD_ENGINE_CACHE: "/cache", HERD_HOME: "/srv/rel", HF_ENDPOINT: "https://mirror" },
      secrets: { HF_TOKEN: "hf_abc" },
    },
  ])("$situation", ({ startFlags, env, command, environment, secrets }) => {
    const definition = serviceDefinition({ ...inputs, startFlags, env });
    expect(definition.command).toEqual(["/usr/bin/node", "/opt/herd/bin/herd.js", ...command]);
    expect(definition.environment).toEqual(environment);
    expect(definition.secrets).toEqual(secrets);
    expect(definition.environmentFile).toBe(`${environment.HERD_HOME}/service.env`);
  });

  it("writes secrets as systemd and Node both read them", () => {
    expect(environmentFileText({ HF_TOKEN: "hf_abc", HERD_JOIN: 'a b"$c' })).toBe(
      '# Secrets for the herd service (HF_TOKEN, HERD_JOIN, upstream keys): NAME=value, one a line.\nHF_TOKEN=hf_abc\nHERD_JOIN="a b\\"\\$c"\n',
    );
  });
});

describe("systemd quoting", () => {
  it.each([
    ["/usr/bin/node", "/usr/bin/node"],
    ["/home/my name/.herd", '"/home/my name/.herd"'],
    ["100%", "100%%"],
    ["$HOME", "$$HOME"],
    ['say "hi"', '"say \\"hi\\""'],
    ["", '""'],
  ])("%s on a command line is %s, and reads back whole", (word, quoted) => {
    expect(quoteWord(word, "command")).toBe(quoted);
    expect(parseExecStart(`/bin/x ${quoted} end`)).toEqual(["/bin/x", word, "end"]);
  });

  it("leaves $ alone in an assignment, where systemd does not expand it", () => {
    expect(quoteWord("PS1=$ %h", "assignment")).toBe('"PS1=$ %%h"');
  });
});
