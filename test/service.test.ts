import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, openSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parsePlist } from "plist";
import { afterAll, describe, expect, inject, it } from "vitest";
import { parseExecStart } from "../src/cli/service/systemd-unit.js";
import { HerdClient } from "../src/client/herd-client.js";
import { runCommand } from "../src/engine/run-command.js";
import { findFreePort } from "../src/util/free-port.js";
import { liveEngineProcesses, runCli, sharedModelPath, waitFor } from "./support/herd-process.js";

const repositoryRoot = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const folders: string[] = [];
const supervisors: Array<{ stop(): Promise<void> }> = [];
afterAll(async () => {
  for (const supervisor of supervisors) await supervisor.stop();
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

async function temporaryFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), "herd-service-"));
  folders.push(folder);
  return folder;
}

/** The environment `herd service install` runs in: the test engine, and a secret that must not be inlined. */
const installEnv = () => ({
  ...process.env,
  HERD_ENGINE_DIR: inject("engineDirectory"),
  HERD_ENGINE_CACHE: inject("engineCache"),
  HF_TOKEN: "hf_never_inlined",
});

/** The values of a unit file's `Key=` lines, in order. */
function unitValues(unit: string, key: string): string[] {
  return unit
    .split("\n")
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));
}

/**
 * Runs a command the way systemd runs a `Restart=on-failure` service: with the unit's environment
 * alone, started again `restartSeconds` after it exits unclean (a signal, a non-zero status).
 */
function superviseLikeSystemd(
  command: string[],
  options: { env: NodeJS.ProcessEnv; cwd: string; restartSeconds: number; log: string },
) {
  let child: ChildProcess;
  let stopping = false;
  let exited: Promise<void>;
  const start = () => {
    child = spawn(command[0]!, command.slice(1), {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", openSync(options.log, "a"), openSync(options.log, "a")],
    });
    exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        const clean = code === 0 || signal === "SIGTERM" || signal === "SIGINT";
        if (!stopping && !clean) setTimeout(start, options.restartSeconds * 1000);
        resolve();
      }),
    );
  };
  start();
  const supervisor = {
    get pid() {
      return child.pid!;
    },
    /** systemctl stop: SIGTERM to the main process (KillMode=mixed), then wait for it. */
    async stop() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
  supervisors.push(supervisor);
  return supervisor;
}

describe("herd service", () => {
  it("writes a systemd unit that systemd-analyze accepts, and a LaunchAgent that parses back", async () => {
    const folder = await temporaryFolder();
    const home = join(folder, "home");
    const flags = ["--home", home, "--name", "svc", "--join", "herd1.not-a-real-token"];
    const system = await runCli(["service", "install", "--print", ...flags], installEnv());
    expect(system.code).toBe(0);
    expect(system.stderr).toBe(`put HERD_JOIN, HF_TOKEN in ${home}/service.env (mode 0600)\n`);
    expect(system.stdout).not.toContain("hf_never_inlined");
    expect(system.stdout).not.toContain("herd1.not-a-real-token");
    expect(unitValues(system.stdout, "Restart")).toEqual(["on-failure"]);
    expect(unitValues(system.stdout, "After")).toEqual(["network-online.target"]);
    expect(unitValues(system.stdout, "EnvironmentFile")).toEqual([`-${home}/service.env`]);
    await writeFile(join(folder, "herd.service"), system.stdout);
    const verified = await runCommand("systemd-analyze", ["verify", join(folder, "herd.service")], {
      timeoutMs: 60_000,
    });
    expect({ code: verified.code, stderr: verified.stderr }).toEqual({ code: 0, stderr: "" });

    const user = await runCli(["service", "install", "--print", "--scope", "user", ...flags], installEnv());
    expect(unitValues(user.stdout, "WantedBy")).toEqual(["default.target"]);
    await writeFile(join(folder, "herd.service"), user.stdout);
    const runtime = await temporaryFolder();
    const userVerified = await runCommand(
      "systemd-analyze",
      ["--user", "verify", join(folder, "herd.service")],
      {
        timeoutMs: 60_000,
        env: { ...process.env, XDG_RUNTIME_DIR: runtime },
      },
    );
    expect({ code: userVerified.code, stderr: userVerified.stderr }).toEqual({ code: 0, stderr: "" });

    const agent = await runCli(
      ["service", "install", "--print", "--platform", "darwin", ...flags],
      installEnv(),
    );
    expect(agent.code).toBe(0);
    expect(parsePlist(agent.stdout)).toEqual({
      Label: "herd.node",
      // The CLI that wrote it, as the tests run it (compiled, see global-setup.ts).
      ProgramArguments: [
        process.execPath,
        inject("herdEntry"),
        "start",
        "--env-file",
        `${home}/service.env`,
        "--home",
        home,
        "--name",
        "svc",
      ],
      WorkingDirectory: repositoryRoot,
      EnvironmentVariables: expect.objectContaining({
        HERD_HOME: home,
        HERD_ENGINE_DIR: inject("engineDirectory"),
        PATH: process.env.PATH,
      }),
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ThrottleInterval: 10,
      StandardOutPath: `${home}/logs/service.out.log`,
      StandardErrorPath: `${home}/logs/service.err.log`,
    });
    expect(agent.stdout).not.toContain("hf_never_inlined");
  });

  it("runs the unit's exact ExecStart to a READY node, and again after a kill -9", async () => {
    const folder = await temporaryFolder();
    const home = join(folder, "home");
    const port = await findFreePort();
    const flags = ["--home", home, "--port", String(port), "--cluster-port", String(await findFreePort())];
    const printed = await runCli(["service", "install", "--print", ...flags, "--no-discovery"], installEnv());
    expect(printed.code).toBe(0);
    const unit = printed.stdout;
    const environment = Object.fromEntries(
      unitValues(unit, "Environment").map((assignment) => {
        const [text] = parseExecStart(assignment);
        return [text!.slice(0, text!.indexOf("=")), text!.slice(text!.indexOf("=") + 1)];
      }),
    );
    const node = superviseLikeSystemd(parseExecStart(unitValues(unit, "ExecStart")[0]!), {
      env: environment,
      cwd: unitValues(unit, "WorkingDirectory")[0]!,
      restartSeconds: Number(unitValues(unit, "RestartSec")[0]),
      log: join(folder, "node.log"),
    });
    const client = new HerdClient({ baseUrl: `http://127.0.0.1:${port}` });
    const cli = (args: string[]) => runCli(args, { ...process.env, HERD_URL: client.baseUrl });
    await waitFor("the service's node", () => client.node(), 60_000);
    expect((await cli(["models", "import", sharedModelPath])).code).toBe(0);
    expect((await cli(["load", "stories260K", "--parallel", "1", "--ctx", "256"])).code).toBe(0);

    const firstPid = node.pid;
    const killedAt = Date.now();
    process.kill(firstPid, "SIGKILL");
    await waitFor(
      "the instance READY again on a restarted node",
      async () => {
        const info = await client.node();
        const [instance] = await client.instances();
        return info.pid !== firstPid && instance?.state === "READY" ? true : undefined;
      },
      60_000,
    );
    const recoveryMs = Date.now() - killedAt;
    process.stdout.write(`kill -9 of the service's node to its instance READY again: ${recoveryMs} ms\n`);
    expect(recoveryMs).toBeLessThan(30_000);
    const answer = await fetch(`${client.baseUrl}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "stories260K", prompt: "Once upon a time", max_tokens: 4 }),
    });
    expect(answer.status).toBe(200);

    await node.stop();
    expect(await liveEngineProcesses(home)).toEqual([]);
  });

  it("install, status and uninstall say what they did, even where systemd does not run", async () => {
    const folder = await temporaryFolder();
    // No user bus to reach: systemctl fails here as in a container, and on a developer's machine too.
    const env = {
      ...installEnv(),
      XDG_CONFIG_HOME: folder,
      XDG_RUNTIME_DIR: join(folder, "no-runtime"),
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(folder, "no-bus")}`,
    };
    const unitPath = join(folder, "systemd/user/herd.service");
    const first = await runCli(
      ["service", "install", "--scope", "user", "--home", join(folder, "h"), "--name", "one"],
      env,
    );
    expect(first.code).toBe(1);
    expect(first.stdout).toBe("");
    expect(first.stderr).toMatch(
      new RegExp(
        `^herd: wrote ${unitPath}; wrote HF_TOKEN to ${folder}/h/service.env \\(mode 0600\\); but the service manager did not start it: .+`,
      ),
    );
    expect(await readFile(join(folder, "h/service.env"), "utf8")).toContain("HF_TOKEN=hf_never_inlined\n");
    expect(await readFile(unitPath, "utf8")).toContain("--name one");

    const second = await runCli(
      ["service", "install", "--scope", "user", "--home", join(folder, "h"), "--name", "two"],
      env,
    );
    expect(second.stderr).toContain(`kept ${folder}/h/service.env as it is: put HF_TOKEN there`);
    const replaced = await readFile(unitPath, "utf8");
    expect(replaced).toContain("--name two");
    expect(replaced).not.toContain("--name one");

    const status = await runCli(["service", "status", "--scope", "user"], env);
    expect(status.stdout.split("\n").slice(0, 1)).toEqual([`installed  ${unitPath}`]);
    expect(status.stdout.split("\n")[1]).toMatch(/^systemd: .+/);

    const removed = await runCli(["service", "uninstall", "--scope", "user"], env);
    expect(removed.stdout.split("\n")[0]).toBe(`removed ${unitPath}`);
    expect(existsSync(unitPath)).toBe(false);
    expect((await runCli(["service", "status", "--scope", "user"], env)).stdout).toBe("not installed\n");
  });
});
