import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DesiredState } from "../src/protocol/cluster.js";
import {
  HerdProcess,
  separateMachines,
  sharedModelPath,
  startCluster,
  stopAllHerdProcesses,
  waitFor,
} from "./support/herd-process.js";
import { OutcomeTally, streamRequest } from "./support/streaming-request.js";

/** Runs `clients` streaming loops against `urls` until `stop` aborts; every request has a deadline. */
async function streamingLoad(urls: string[], clients: number, stop: AbortSignal, tally: OutcomeTally) {
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let round = 0; !stop.aborted; round++) {
        const outcome = await streamRequest({
          url: urls[(client + round) % urls.length]!,
          model: "stories260K",
          maxTokens: 48,
          deadlineMs: 90_000,
        });
        tally.add(outcome);
        // Errors come back at once while the instance is down: do not spin on them.
        if (outcome.kind !== "completed") await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }),
  );
}

async function readyInstance(node: HerdProcess, id?: string) {
  const view = await node.client.cluster();
  const instance = view.desired.instances[0];
  const summary = view.instances.find((candidate) => candidate.id === instance?.id);
  return summary?.state === "READY" && (id === undefined || instance?.id === id) ? instance : undefined;
}

describe("a shard node killed under load, then the whole cluster stopped and started", () => {
  let a: HerdProcess;
  let b: HerdProcess;
  let c: HerdProcess;

  beforeAll(async () => {
    [a, b, c] = (await startCluster(["a", "b", "c"])) as [HerdProcess, HerdProcess, HerdProcess];
    // Only a holds the model file, so a heads the instance and b and c hold shards.
    await a.cli(["models", "import", sharedModelPath]);
    const loaded = await a.cli([
      "load",
      "stories260K",
      "--min-nodes",
      "3",
      "--split",
      "layer",
      ...separateMachines,
    ]);
    expect(loaded.code, loaded.stderr).toBe(0);
    await waitFor("c to see the instance READY", async () => ((await readyInstance(c)) ? true : undefined));
  });
  afterAll(stopAllHerdProcesses);

  it("answers every request or fails it cleanly, and recovers READY by itself", async () => {
    const view = await a.client.cluster();
    const [bId, aId] = [(await b.client.cluster()).self, view.self];
    expect(view.desired.instances[0]!.node).toBe(aId);
    const tally = new OutcomeTally();
    const stop = new AbortController();
    const load = streamingLoad([a.url, c.url], 4, stop.signal, tally);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const before = tally.count("completed");
    const killedAt = Date.now();
    await b.kill();
    await waitFor(
      "the instance READY again without b",
      async () => {
        const instance = await readyInstance(a);
        return instance && !instance.plan?.shards.some((shard) => shard.node === bId) ? instance : undefined;
      },
      60_000,
    );
    const recoveredMs = Date.now() - killedAt;
    const atRecovery = tally.count("completed");
    await waitFor("requests to complete after recovery", async () =>
      tally.count("completed") >= atRecovery + 8 ? true : undefined,
    );
    stop.abort();
    await load;
    console.log(`shard node killed under load: READY again after ${recoveredMs} ms; ${tally}`);
    expect(before).toBeGreaterThan(0);
    expect(tally.count("hung"), tally.toString()).toBe(0);
    expect(tally.broken, tally.toString()).toEqual([]);
    for (const [kind] of tally.counts) {
      // The only errors a client may see: its stream cut with an error event, or a 503 while recovering.
      if (kind.startsWith("error")) expect(kind).toMatch(/^error (200 engine_interrupted|503 \w+)$/);
    }
  });

  it("brings the same instances back when every node is stopped and started again", async () => {
    const before = (await a.client.cluster()).desired.instances.map((instance) => instance.id);
    expect(before).toHaveLength(1);
    await Promise.all([a.stop(), c.stop()]);
    // b was killed with -9: its HERD_HOME must still be whole.
    for (const node of [a, b, c]) {
      const text = await readFile(join(node.home, "state", "desired.json"), "utf8");
      expect(() => DesiredState.parse(JSON.parse(text))).not.toThrow();
      JSON.parse(await readFile(join(node.home, "node.json"), "utf8"));
    }
    const restart = (node: HerdProcess, name: string, peers: HerdProcess[]) =>
      HerdProcess.start({
        home: node.home,
        port: node.port,
        clusterPort: node.clusterPort,
        args: ["--name", name, "--peers", peers.map((peer) => peer.clusterEndpoint).join(",")],
      });
    a = await restart(a, "a", [b, c]);
    b = await restart(b, "b", [a, c]);
    c = await restart(c, "c", [a, b]);
    const instance = await waitFor(
      "the same instance READY again",
      () => readyInstance(a, before[0]),
      90_000,
    );
    expect(instance.id).toBe(before[0]);
    const outcome = await streamRequest({
      url: c.url,
      model: "stories260K",
      maxTokens: 16,
      deadlineMs: 60_000,
    });
    expect(outcome.kind, JSON.stringify(outcome)).toBe("completed");
  });
});

describe("a disk that fills while a model is written", () => {
  let node: HerdProcess;
  let home: string;
  let models: string;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "herd-test-"));
    models = join(home, "models");
    await mkdir(models);
    // A 512 KiB filesystem as the model store: the 1.1 MiB test model cannot fit.
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", models]);
    node = await HerdProcess.start({ home });
  });
  afterAll(async () => {
    await node?.stop();
    execFileSync("umount", [models]);
    await rm(home, { recursive: true, force: true });
    await stopAllHerdProcesses();
  });

  it("reports it, registers nothing, leaves nothing behind, and keeps serving", async () => {
    const copied = await node.cli(["models", "import", sharedModelPath, "--copy"]);
    expect(copied.code).toBe(1);
    expect(copied.stderr).toMatch(
      /no space left on the disk of .*models \([\d.]+ MiB free\) while writing model 'stories260K'/,
    );
    const response = await fetch(`${node.url}/herd/v1/models/import`, {
      method: "POST",
      body: JSON.stringify({ path: sharedModelPath, copy: true }),
    });
    expect(response.status).toBe(507);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("insufficient_storage");

    const synth = await node.cli(["models", "synth", "--name", "big", "--layers", "2", "--embedding", "256"]);
    expect(synth.code).toBe(1);
    expect(synth.stderr).toContain("no space left");

    expect(await node.client.models()).toEqual([]);
    expect(await readdir(models)).toEqual([]);
    // The node still works: a link to the file (another filesystem: a symlink) needs no room.
    const linked = await node.cli(["models", "import", sharedModelPath]);
    expect(linked.code, linked.stderr).toBe(0);
    expect(linked.stdout).toContain("(symlink)");
  });
});
