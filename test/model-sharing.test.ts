import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type HerdProcess,
  sharedModelPath,
  startCluster,
  stopAllHerdProcesses,
  waitFor,
} from "./support/herd-process.js";

async function complete(node: HerdProcess): Promise<string> {
  const response = await fetch(`${node.url}/v1/completions`, {
    method: "POST",
    body: JSON.stringify({
      model: "stories260K",
      prompt: "Once upon a time",
      max_tokens: 24,
      temperature: 0,
    }),
  });
  const body = (await response.json()) as { choices?: Array<{ text: string }> };
  if (!body.choices) throw new Error(`completion failed: ${JSON.stringify(body)}`);
  return body.choices[0]!.text;
}

describe("a head placed on a node without the model file", () => {
  let nodes: HerdProcess[];
  let sha256: string;

  beforeAll(async () => {
    nodes = await startCluster(["a", "b", "c"]);
    sha256 = createHash("sha256")
      .update(await readFile(sharedModelPath))
      .digest("hex");
    const imported = await nodes[0]!.cli(["models", "import", sharedModelPath]);
    expect(imported.code, imported.stderr).toBe(0);
  });
  afterAll(stopAllHerdProcesses);

  /** The test's process for a node id. */
  const byId = async (id: string) => {
    const name = (await nodes[0]!.client.cluster()).nodes.find((node) => node.id === id)?.name ?? "";
    return nodes[["a", "b", "c"].indexOf(name)]!;
  };
  const holdsCopy = async (node: HerdProcess) => {
    const [model] = await node.client.models();
    return (
      model?.name === "stories260K" && model.files?.[0]?.sha256 === sha256 && model.storage === "downloaded"
    );
  };

  it("copies it from a peer, verified, and serves; after that head dies, the next head copies it too", async () => {
    const [a] = nodes as [HerdProcess];
    const loaded = await a.cli([
      "load",
      "stories260K",
      "--avoid",
      "a",
      "--max-nodes",
      "1",
      "--parallel",
      "1",
    ]);
    expect(loaded.code, loaded.stderr).toBe(0);
    const first = (await a.client.cluster()).desired.instances[0]!;
    const head = await byId(first.node);
    expect(head).not.toBe(a);
    expect(await holdsCopy(head)).toBe(true);
    // The head said it was copying (its own events). `herd load` on a sees a remote head's states
    // through its heartbeats, once a second: a 1 MiB copy can begin and end between two of them.
    const headLog = await head.log();
    expect(headLog).toMatch(/"state":"STARTING","reason":"copied stories260K from a \(/);
    expect(headLog).toMatch(/copied stories260K from a, sha256 verified/);
    console.log(`herd load as it followed the copy:\n${loaded.stdout}`);
    const before = await complete(a);
    expect(before).toContain("Lily");

    const other = nodes.find((node) => node !== a && node !== head)!;
    await head.kill();
    const moved = await waitFor(
      "the instance READY on the third node",
      async () => {
        const view = await a.client.cluster();
        const instance = view.desired.instances[0];
        const summary = view.instances.find((candidate) => candidate.id === instance?.id);
        return instance && instance.node !== first.node && summary?.state === "READY" ? instance : undefined;
      },
      60_000,
    );
    expect(await byId(moved.node)).toBe(other);
    expect(await holdsCopy(other)).toBe(true);
    expect(await complete(a)).toBe(before);
  });
});
