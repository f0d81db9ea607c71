import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NodeCalibration } from "../src/protocol/calibration.js";
import {
  type HerdProcess,
  sharedModelPath,
  startCluster,
  stopAllHerdProcesses,
  waitFor,
} from "./support/herd-process.js";

async function calibrationOf(node: HerdProcess): Promise<NodeCalibration | undefined> {
  const view = await node.client.cluster();
  return view.nodes.find((member) => member.id === view.self)?.profile?.calibration;
}

async function planReasons(node: HerdProcess, args: string[]): Promise<string[]> {
  const plan = await node.cli(["plan", "stories260K", ...args, "--json"]);
  expect(plan.code, plan.stderr).toBe(0);
  return (JSON.parse(plan.stdout) as { reasons: string[] }).reasons;
}

describe("a cluster that calibrates its cost model", () => {
  let a: HerdProcess;
  let b: HerdProcess;

  beforeAll(async () => {
    [a, b] = (await startCluster(["a", "b"])) as [HerdProcess, HerdProcess];
    await a.cli(["models", "import", sharedModelPath]);
  });
  afterAll(stopAllHerdProcesses);

  it("measures the engine with `herd engine calibrate`; the node announces it and plans with it", async () => {
    const calibrated = await a.cli(["engine", "calibrate"]);
    expect(calibrated.code, calibrated.stderr).toBe(0);
    expect(calibrated.stdout).toMatch(
      /^bandwidth\s+\d+\.\d\d GB\/s .*\ntoken overhead\s+\d+\.\d\d ms per token\n/,
    );
    const file = JSON.parse(await readFile(join(a.home, "state", "calibration.json"), "utf8"));
    const [measured] = Object.values(file as Record<string, NodeCalibration>).map((entry) => entry.measured);
    expect(measured!.bandwidthBytesPerSecond).toBeGreaterThan(0);
    // The running node reads the file within seconds and announces it to its peers.
    await waitFor("a to announce its measurement", async () => (await calibrationOf(a))?.measured, 20_000);
    await waitFor(
      "b to hear of it",
      async () => {
        const view = await b.client.cluster();
        return view.nodes.find((member) => member.name === "a")?.profile?.calibration?.measured;
      },
      20_000,
    );
    const reasons = await planReasons(a, ["--nodes", "a"]);
    expect(reasons.join("\n")).toContain("a's decode speed is its own measurement with its engine");
  });

  it("times a split's RPC path in llama.cpp's own protocol and learns from the instance's decode", async () => {
    const loaded = await a.cli([
      "load",
      "stories260K",
      "--min-nodes",
      "2",
      "--split",
      "layer",
      "--parallel",
      "1",
    ]);
    expect(loaded.code, `${loaded.stdout}\n${loaded.stderr}`).toBe(0);
    const hop = async () => (await calibrationOf(a))?.hops[0];
    await waitFor("the RPC round trip to b", async () => (await hop())?.rpcRoundTripSeconds, 20_000);
    // Two nodes on one machine's addresses have no cable between them: the shard is reached, and its
    // figures kept, through the tunnel.
    expect((await hop())?.route).toBe("tunnel");
    // Replies finish in each stats interval until the node has compared some with the plan.
    await waitFor(
      "a correction from measured decode",
      async () => {
        for (let reply = 0; reply < 5; reply++) {
          const response = await fetch(`${a.url}/v1/completions`, {
            method: "POST",
            body: JSON.stringify({ model: "stories260K", prompt: "Once upon a time", max_tokens: 48 }),
          });
          expect(response.status).toBe(200);
          await response.arrayBuffer();
        }
        return (await hop())?.correction;
      },
      60_000,
    );
    const reasons = (await planReasons(a, ["--min-nodes", "2", "--split", "layer"])).join("\n");
    expect(reasons).toContain("a reaches b through the tunnel (no cable joins the two alone).");
    expect(reasons).toMatch(
      /The a → b RPC round trip is \d+\.\d\d ms, measured in llama\.cpp's own RPC protocol/,
    );
    expect(reasons).toMatch(
      /Applied a correction of ×\d\.\d\d to the a → b RPC path \(b's blocks and the hop\), learnt from \d+ measured decodes?/,
    );
  });
});
