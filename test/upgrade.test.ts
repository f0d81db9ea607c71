import { chmod, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { HerdProcess, sharedModelPath, stopAllHerdProcesses, waitFor } from "./support/herd-process.js";

let otherEngine: string | undefined;
afterAll(async () => {
  await stopAllHerdProcesses();
  if (otherEngine) await rm(otherEngine, { recursive: true, force: true });
});

/**
 * A second engine folder whose llama-server reports another version (as a node not yet upgraded
 * would), running the same binaries underneath.
 */
async function engineOfAnotherVersion(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), "herd-engine-"));
  const real = inject("engineDirectory");
  const server = join(folder, "llama-server");
  await writeFile(
    server,
    [
      "#!/bin/sh",
      'for argument in "$@"; do',
      '  if [ "$argument" = "--version" ]; then echo "version: 0.4.9-old (build 7, commit 0badc0d)"; exit 0; fi',
      "done",
      `exec "${real}/llama-server" "$@"`,
      "",
    ].join("\n"),
  );
  await chmod(server, 0o755);
  await symlink(join(real, "ggml-rpc-server"), join(folder, "ggml-rpc-server"));
  return folder;
}

const aliveCount = async (node: HerdProcess) =>
  (await node.client.cluster()).nodes.filter((member) => member.state === "alive").length;

describe("a machine at a time", () => {
  it("never splits across engine versions, and herd stop --drain moves a node's instances first", async () => {
    otherEngine = await engineOfAnotherVersion();
    const a = await HerdProcess.start({ args: ["--name", "a"] });
    const token = await a.client.joinToken();
    const b = await HerdProcess.start({ args: ["--name", "b", "--join", token] });
    const c = await HerdProcess.start({
      args: ["--name", "c", "--join", token],
      env: { HERD_ENGINE_DIR: otherEngine },
    });
    await waitFor("three live nodes with their profiles", async () =>
      (await a.client.cluster()).nodes.filter((node) => node.state === "alive" && node.profile).length === 3
        ? true
        : undefined,
    );
    expect((await a.cli(["models", "import", sharedModelPath])).code).toBe(0);

    const status = await a.cli(["status"]);
    expect(status.stdout).toMatch(/\bc\s+member\s+alive\s.*cpu 0\.4\.9-old 0badc0d/);
    expect(status.stdout).toContain(
      "llama.cpp engines differ (a, b 0.5.0-dev (build 1, commit de3ff81); c 0.4.9-old (build 7, commit 0badc0d)): a split never mixes them",
    );
    const plan = await a.cli(["plan", "stories260K", "--min-nodes", "2", "--split", "layer"]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain(
      "Left out c: its llama.cpp engine is 0.4.9-old (build 7, commit 0badc0d), a's is 0.5.0-dev (build 1, commit de3ff81)",
    );
    const mixed = await a.cli(["plan", "stories260K", "--nodes", "a,c", "--min-nodes", "2"]);
    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toContain(
      "their llama.cpp engines differ (a 0.5.0-dev (build 1, commit de3ff81); c 0.4.9-old",
    );

    const load = await a.cli(["load", "stories260K", "--min-nodes", "2", "--split", "layer", "--ctx", "512"]);
    expect(load.code, load.stderr).toBe(0);
    const [split] = (await a.client.cluster()).desired.instances;
    const names = new Map((await a.client.cluster()).nodes.map((node) => [node.id as string, node.name]));
    expect(split!.plan!.shards.map((shard) => names.get(shard.node)).sort()).toEqual(["a", "b"]);
    const health = await a.cli(["health"]);
    expect(health.stdout).toContain(
      "node c: engine 0.4.9-old (build 7, commit 0badc0d), the rest run 0.5.0-dev (build 1, commit de3ff81); it is never put in a split with them",
    );

    // b is to be upgraded: its shard moves (here, the whole instance onto a) before it stops.
    const drained = await a.cli(["stop", "--node", "b", "--drain"]);
    expect(drained.code, drained.stderr).toBe(0);
    expect(drained.stdout).toMatch(/^moved stories260K-\w+ to stories260K-\w+ on (a|c)\nstopping b\n$/);
    const after = await a.client.cluster();
    expect(after.desired.instances).toHaveLength(1);
    expect(after.desired.instances[0]!.plan!.shards.every((shard) => names.get(shard.node) !== "b")).toBe(
      true,
    );
    await waitFor(
      "b gone from the cluster",
      async () => ((await aliveCount(a)) === 2 ? true : undefined),
      30_000,
    );
    const answer = await fetch(`${a.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "stories260K", prompt: "Once upon a time", max_tokens: 4 }),
    });
    expect(answer.status).toBe(200);

    // Every node stops, each from its own API; the desired state stays for their next start.
    const all = await c.cli(["stop", "--all"]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toBe("stopping a\nstopped c\n");
    await waitFor("a stopped", async () => {
      try {
        await a.client.node();
        return undefined;
      } catch {
        return true;
      }
    });
    expect(await a.stop()).toBe(0);
    expect(await c.stop()).toBe(0);
    expect(await b.stop()).toBe(0);
  });
});
