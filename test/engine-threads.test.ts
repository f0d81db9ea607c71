import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NodeCalibration } from "../src/protocol/calibration.js";
import { commandLine, flagValue } from "./support/command-line.js";
import {
  type HerdProcess,
  sharedModelPath,
  startCluster,
  stopAllHerdProcesses,
  waitFor,
} from "./support/herd-process.js";

/** The engine process of the instance of stories260K that the cluster wants now. */
async function engineArgs(node: HerdProcess): Promise<string[]> {
  const wanted = (await node.client.cluster()).desired.instances.find((each) => each.model === "stories260K");
  const status = await waitFor("the engine of the instance wanted", async () =>
    (await node.client.instances()).find((each) => each.id === wanted?.id && each.enginePid !== undefined),
  );
  return commandLine(status.enginePid!);
}

describe("nodes given --engine-threads", () => {
  let a: HerdProcess;
  let b: HerdProcess;

  beforeAll(async () => {
    [a, b] = (await startCluster(["a", "b"], ["--engine-threads", "1"])) as [HerdProcess, HerdProcess];
    await a.cli(["models", "import", sharedModelPath]);
  });
  afterAll(stopAllHerdProcesses);

  it("measures the engine on that many threads, and keeps and announces it as such", async () => {
    const calibrated = await a.cli(["engine", "calibrate", "--engine-threads", "1"]);
    expect(calibrated.code, calibrated.stderr).toBe(0);
    expect(calibrated.stdout).toMatch(/\nengine\s+.+ threads=1\n$/);
    const file = JSON.parse(await readFile(join(a.home, "state", "calibration.json"), "utf8")) as Record<
      string,
      NodeCalibration
    >;
    expect(Object.keys(file)).toEqual([expect.stringMatching(/ threads=1$/)]);
    // The node reads what was measured on its own threads (a measure on others is kept apart).
    const announced = await waitFor(
      "a to announce its measurement",
      async () => {
        const view = await a.client.cluster();
        return view.nodes.find((member) => member.id === view.self)?.profile?.calibration?.measured;
      },
      20_000,
    );
    expect(announced.engine).toMatch(/ threads=1$/);
  });

  it("runs the head's llama-server and the shard's ggml-rpc-server on that many threads", async () => {
    const loaded = await a.cli(["load", "stories260K", "--min-nodes", "2", "--split", "layer"]);
    expect(loaded.code, `${loaded.stdout}\n${loaded.stderr}`).toBe(0);
    const args = await engineArgs(a);
    expect(flagValue(args, "--threads")).toBe("1");
    expect(flagValue(args, "--rpc")).toBeDefined();
    const shardLog = (await b.log()).split("\n").find((line) => line.includes("starting ggml-rpc-server"));
    expect(shardLog).toMatch(/starting ggml-rpc-server on 127\.0\.0\.1:\d+, 1 thread\b/);
  });

  it("leaves a load's own --threads in charge", async () => {
    expect((await a.cli(["unload", "stories260K"])).code).toBe(0);
    const loaded = await a.cli(["load", "stories260K", "--nodes", "a", "--threads", "2"]);
    expect(loaded.code, `${loaded.stdout}\n${loaded.stderr}`).toBe(0);
    expect(flagValue(await engineArgs(a), "--threads")).toBe("2");
  });
});
