import { copyFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClusterView } from "../src/protocol/cluster.js";
import { HerdProcess, sharedModelPath, stopAllHerdProcesses, waitFor } from "./support/herd-process.js";

/** Every node's view agrees on these nodes being alive, with a measured link for every pair. */
function complete(view: ClusterView, ids: string[]): boolean {
  const alive = view.nodes.filter((node) => node.state === "alive").map((node) => node.id);
  const linked = ids.every((from) =>
    ids.every((to) => from === to || view.links.some((l) => l.from === from && l.to === to)),
  );
  return ids.every((id) => alive.includes(id as never)) && alive.length === ids.length && linked;
}

const stateOf = (view: ClusterView, id: string) => view.nodes.find((node) => node.id === id)?.state;

describe("three nodes on loopback", () => {
  let a: HerdProcess;
  let b: HerdProcess;
  let c: HerdProcess;
  let ids: string[];
  let formedInMs: number;

  beforeAll(async () => {
    a = await HerdProcess.start({ args: ["--name", "a"] });
    const token = await a.client.joinToken();
    b = await HerdProcess.start({ args: ["--name", "b", "--join", token] });
    // c knows only b: it meets a through b's heartbeats.
    c = await HerdProcess.start({ args: ["--name", "c", "--join", token, "--peers", b.clusterEndpoint] });
    const lastStarted = Date.now();
    ids = await Promise.all([a, b, c].map(async (node) => (await node.client.cluster()).self));
    await waitFor("every node to see the full cluster", async () => {
      const views = await Promise.all([a, b, c].map((node) => node.client.cluster()));
      return views.every((view) => complete(view, ids)) ? true : undefined;
    });
    formedInMs = Date.now() - lastStarted;
  });
  afterAll(stopAllHerdProcesses);

  it("forms one cluster that every node sees the same way", async () => {
    const views = await Promise.all([a, b, c].map((node) => node.client.cluster()));
    for (const view of views) {
      expect(view.nodes.map((node) => node.id).sort()).toEqual([...ids].sort());
      expect(view.coordinator).toBe(ids[0]);
      expect(view.links).toHaveLength(6);
      for (const link of view.links) {
        expect(link.rttMs).toBeGreaterThan(0);
        expect(link.throughputBytesPerSecond).toBeGreaterThan(0);
      }
      const self = view.nodes.find((node) => node.id === view.self)!;
      expect(self.profile).toMatchObject({ cpuCores: expect.any(Number), engine: { rpc: true } });
      expect(self.profile!.memoryTotalBytes).toBeGreaterThan(0);
    }
    console.log(`cluster of 3 formed (all alive, full link matrix) ${formedInMs} ms after the last start`);
  });

  it("shows the cluster in 'herd status' and 'herd nodes'", async () => {
    const status = await c.cli(["status"]);
    expect(status.stdout).toContain("3/3 nodes alive, coordinator a");
    const nodes = await b.cli(["nodes", "--json"]);
    expect((JSON.parse(nodes.stdout) as unknown[]).length).toBe(3);
  });

  it("keeps the desired state on every node", async () => {
    await b.cli(["models", "import", sharedModelPath]);
    // b is not the coordinator: its load goes through a.
    const loaded = await b.cli(["load", "stories260K", "--parallel", "1"]);
    expect(loaded.code, loaded.stderr).toBe(0);
    const views = await waitFor("the desired state to reach every node", async () => {
      const all = await Promise.all([a, b, c].map((node) => node.client.cluster()));
      return all.every((view) => view.desired.epoch === 1) ? all : undefined;
    });
    for (const view of views) {
      expect(view.desired.instances).toMatchObject([{ model: "stories260K", node: ids[1] }]);
    }
  });

  it("routes a request from any node to the node that serves the model, and streams it back", async () => {
    const request = { model: "stories260K", prompt: "Once upon a time", max_tokens: 24, temperature: 0 };
    const direct = await (
      await fetch(`${b.url}/v1/completions`, { method: "POST", body: JSON.stringify(request) })
    ).json();
    for (const node of [a, c]) {
      const body = await waitFor(`a completion through ${node.url}`, async () => {
        const response = await fetch(`${node.url}/v1/completions`, {
          method: "POST",
          body: JSON.stringify(request),
        });
        return response.status === 200
          ? ((await response.json()) as { choices: Array<{ text: string }> })
          : undefined;
      });
      expect(body.choices[0]!.text).toBe((direct as { choices: Array<{ text: string }> }).choices[0]!.text);
      expect(body.choices[0]!.text).toContain("Lily");
    }
    const streamed = await fetch(`${a.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ ...request, stream: true }),
    });
    expect(streamed.headers.get("content-type")).toContain("text/event-stream");
    expect(await streamed.text()).toContain("data: [DONE]");
  });

  it("publishes a change made through any node on every node's events, with what changed", async () => {
    const stop = new AbortController();
    const followed = await Promise.all([a, c].map((node) => node.client.subscribe(stop.signal)));
    // b does not coordinate: its change is applied by a, and reaches c with the state it made.
    await b.client.setRoute("stories260K", "local-only");
    const seen = await Promise.all(
      followed.map(async (events) => {
        for await (const event of events) if (event.type === "routes-set") return event;
      }),
    );
    stop.abort();
    for (const event of seen) {
      expect(event).toMatchObject({ type: "routes-set", routes: { stories260K: "local-only" } });
    }
    await b.client.setRoute("stories260K", null);
  });

  it("reports a killed node gone within 15 s, and takes it back under its id", async () => {
    const killedAt = Date.now();
    await c.kill();
    await waitFor(
      "a and b to report c gone",
      async () => {
        const views = await Promise.all([a, b].map((node) => node.client.cluster()));
        return views.every((view) => stateOf(view, ids[2]!) === "gone") ? true : undefined;
      },
      15_000,
    );
    console.log(`kill -9 of c reported as gone after ${Date.now() - killedAt} ms`);
    c = await HerdProcess.start({
      home: c.home,
      port: c.port,
      clusterPort: c.clusterPort,
      args: ["--name", "c"],
    });
    expect((await c.client.cluster()).self).toBe(ids[2]);
    await waitFor("c to be alive again everywhere", async () => {
      const views = await Promise.all([a, b, c].map((node) => node.client.cluster()));
      return views.every((view) => stateOf(view, ids[2]!) === "alive") ? true : undefined;
    });
  });

  it("elects the next coordinator when the coordinator dies, with the desired state intact", async () => {
    const before = (await b.client.cluster()).desired;
    await a.kill();
    const views = await waitFor(
      "b and c to agree on a new coordinator",
      async () => {
        const all = await Promise.all([b, c].map((node) => node.client.cluster()));
        const coordinators = new Set(all.map((view) => view.coordinator));
        return coordinators.size === 1 && !coordinators.has(ids[0] as never) && !coordinators.has(null)
          ? all
          : undefined;
      },
      15_000,
    );
    // c restarted, so b joined earlier and coordinates.
    expect(views[0]!.coordinator).toBe(ids[1]);
    for (const view of views) {
      expect(view.desired).toEqual(before);
      expect(view.desired.instances).toMatchObject([{ model: "stories260K", node: ids[1] }]);
    }
    // The new coordinator can change the desired state: unload through c.
    const unloaded = await c.cli(["unload", "stories260K"]);
    expect(unloaded.code, unloaded.stderr).toBe(0);
    await waitFor("the unload on b", async () => {
      const desired = (await b.client.cluster()).desired;
      return desired.epoch > before.epoch && desired.instances.length === 0 ? true : undefined;
    });
  });
});

describe("a node without the cluster key", () => {
  let member: HerdProcess;
  let stranger: HerdProcess;

  beforeAll(async () => {
    member = await HerdProcess.start({ args: ["--name", "member"] });
    // A fresh home has a fresh key: the stranger knows where the cluster is, but not its key.
    stranger = await HerdProcess.start({ args: ["--name", "stranger", "--peers", member.clusterEndpoint] });
  });
  afterAll(stopAllHerdProcesses);

  it("is refused on both sides and never appears in the cluster", async () => {
    await waitFor("both logs to record the refusal", async () => {
      const [memberLog, strangerLog] = await Promise.all([member.log(), stranger.log()]);
      return /refused a connection from .*does not hold this cluster's key/.test(memberLog) &&
        /refused this node: its cluster key differs from this node's/.test(strangerLog)
        ? true
        : undefined;
    });
    const view = await member.client.cluster();
    expect(view.nodes.map((node) => node.name)).toEqual(["member"]);
    expect((await stranger.client.cluster()).nodes.map((node) => node.name)).toEqual(["stranger"]);
  });
});

describe("a copied HERD_HOME", () => {
  afterAll(stopAllHerdProcesses);

  it("is reported as two nodes with one id, not merged into one", async () => {
    const original = await HerdProcess.start({ args: ["--name", "original"] });
    const copy = await mkdtemp(join(tmpdir(), "herd-test-"));
    await copyFile(join(original.home, "node.json"), join(copy, "node.json"));
    const twin = await HerdProcess.start({
      home: copy,
      args: ["--name", "twin", "--peers", original.clusterEndpoint],
    });
    await waitFor("the duplicate to be reported", async () =>
      /is used by two running nodes .*HERD_HOME copied/.test(await original.log()) ? true : undefined,
    );
    expect((await original.client.cluster()).nodes.map((node) => node.name)).toEqual(["original"]);
    expect((await twin.client.cluster()).self).toBe((await original.client.cluster()).self);
  });
});
