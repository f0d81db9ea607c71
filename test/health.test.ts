import { truncate } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import {
  HerdProcess,
  runCli,
  sharedModelPath,
  stopAllHerdProcesses,
  waitFor,
} from "./support/herd-process.js";

afterAll(stopAllHerdProcesses);

/** `herd health` as cron would run it: its output and exit status. */
async function health(node: HerdProcess, args: string[] = []) {
  const result = await node.cli(["health", ...args]);
  return { code: result.code, lines: result.stdout.trimEnd().split("\n") };
}

async function healthz(node: HerdProcess) {
  const response = await fetch(`${node.url}/healthz`);
  return { status: response.status, body: await response.text() };
}

describe("herd health", () => {
  it("says healthy, degraded and down, with exit 0, 1 and 2 and /healthz 200 or 503", async () => {
    const node = await HerdProcess.start({ args: ["--name", "a"] });
    expect(await health(node)).toEqual({
      code: 0,
      lines: ["healthy: 1/1 nodes alive, 0/0 models served (0 instances READY)"],
    });
    for (const command of [
      ["models", "import", sharedModelPath],
      ["load", "stories260K", "--parallel", "1", "--ctx", "256"],
      // A stored copy whose tensors were cut off: its engine fails to load it, again and again.
      ["models", "import", sharedModelPath, "--name", "broken", "--copy"],
    ]) {
      expect((await node.cli(command)).code).toBe(0);
    }
    expect(await health(node)).toEqual({
      code: 0,
      lines: ["healthy: 1/1 nodes alive, 1/1 models served (1 instance READY)"],
    });
    expect(await healthz(node)).toEqual({ status: 200, body: "healthy\n" });

    const broken = (await node.client.models()).find((model) => model.name === "broken")!;
    await truncate(broken.file, 4096);
    expect((await node.cli(["load", "broken", "--no-wait", "--parallel", "1", "--ctx", "256"])).code).toBe(0);
    const degraded = await waitFor("a restart of the broken engine", async () => {
      const result = await health(node);
      return result.lines.some((line) => line.includes("engine restarted")) ? result : undefined;
    });
    expect(degraded.code).toBe(1);
    expect(degraded.lines[0]).toBe("degraded: 1/1 nodes alive, 1/2 models served (1 instance READY)");
    expect(degraded.lines[1]).toMatch(
      /^model broken cannot be served: broken-\w+ (FAILED|STARTING|LOADING) \(/,
    );
    expect(degraded.lines[2]).toMatch(
      /^instance broken-\w+ on a: engine restarted (once|\d+ times) in the last hour \(last: engine exit code \d+/,
    );
    expect(await healthz(node)).toEqual({ status: 200, body: "degraded\n" });

    expect((await node.cli(["unload", "stories260K"])).code).toBe(0);
    const down = await health(node);
    expect(down.code).toBe(2);
    expect(down.lines[0]).toBe("down: 1/1 nodes alive, 0/1 models served (0 instances READY)");
    expect(down.lines[1]).toMatch(/^model broken cannot be served: /);
    expect(await healthz(node)).toEqual({ status: 503, body: "down\n" });
    const json = JSON.parse((await node.cli(["health", "--json"])).stdout);
    expect(json).toMatchObject({ verdict: "down", node: "a" });
    expect(json.findings[0]).toMatchObject({
      severity: "critical",
      kind: "model-unavailable",
      subject: "broken",
    });

    expect((await node.cli(["unload", "broken"])).code).toBe(0);
    const token = await node.client.joinToken();
    const peer = await HerdProcess.start({ args: ["--name", "b", "--join", token] });
    await waitFor("b alive", async () =>
      (await node.client.cluster()).nodes.some((member) => member.name === "b" && member.state === "alive")
        ? true
        : undefined,
    );
    await peer.kill();
    const lost = await waitFor("b suspected", async () => {
      const result = await health(node);
      return result.code === 1 ? result : undefined;
    });
    expect(lost.lines[0]).toBe("degraded: 1/2 nodes alive, 0/0 models served (0 instances READY)");
    expect(lost.lines[1]).toMatch(/^node b: (suspected|gone) \(not heard from for \d+\.\d s\)$/);

    await node.stop();
    const gone = await runCli(["health"], { ...process.env, HERD_URL: node.url });
    expect(gone.code).toBe(2);
    expect(gone.stdout).toBe(`down: no herd node answers at ${node.url} (is 'herd start' running?)\n`);
  });
});
