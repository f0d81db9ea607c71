import { describe, expect, it } from "vitest";
import type { ClusterView, NodeProfile } from "../protocol/cluster.js";
import { InstanceSummary, PlacedInstance } from "../protocol/cluster.js";
import type { NodeHealthFacts } from "../protocol/health.js";
import type { NodeId } from "../protocol/ids.js";
import { assessHealth } from "./assess-health.js";

const gib = 1024 ** 3;
const healthyFacts: NodeHealthFacts = {
  modelsDisk: { freeBytes: 100 * gib, totalBytes: 200 * gib },
  apiExposed: false,
  authDisabled: false,
  corruptModels: [],
};

interface NodeSketch {
  name: string;
  state?: "alive" | "suspected" | "gone";
  engine?: string;
  health?: Partial<NodeHealthFacts>;
}

interface InstanceSketch {
  id: string;
  model: string;
  node: string;
  state?: InstanceSummary["state"];
  reason?: string;
  restartsLastHour?: number;
  lastExit?: string;
  suspended?: string;
  draining?: boolean;
  /** No node reports it (its head is gone). */
  unreported?: boolean;
}

/** A cluster as node `a` sees it. */
function cluster(nodes: NodeSketch[], instances: InstanceSketch[] = []): ClusterView {
  const id = (name: string) => `${name}-0000000000` as NodeId;
  return {
    self: id("a"),
    coordinator: id("a"),
    epoch: 1,
    nodes: nodes.map((node) => ({
      id: id(node.name),
      name: node.name,
      state: node.state ?? "alive",
      role: node.name === "a" ? "coordinator" : "member",
      joinedAt: 0,
      lastSeenMsAgo: node.state === "gone" ? 12_300 : node.state === "suspected" ? 4_200 : 100,
      endpoints: [],
      profile: {
        engine: { version: node.engine ?? "0.5.0 (de3ff81)", backend: "cpu", rpc: true, rdma: false },
        health: { ...healthyFacts, ...node.health },
      } as NodeProfile,
    })),
    links: [],
    desired: {
      epoch: 1,
      writtenBy: id("a"),
      upstreams: [],
      routes: {},
      instances: instances.map((instance) =>
        PlacedInstance.parse({
          id: instance.id,
          model: instance.model,
          contextSize: 256,
          parallel: 1,
          embeddings: false,
          createdAt: "2026-01-01T00:00:00Z",
          node: id(instance.node),
          suspended: instance.suspended,
          draining: instance.draining ? "2026-01-01T00:00:00Z" : undefined,
        }),
      ),
    },
    instances: instances
      .filter((instance) => !instance.unreported && instance.suspended === undefined)
      .map((instance) =>
        InstanceSummary.parse({
          id: instance.id,
          model: instance.model,
          node: id(instance.node),
          state: instance.state ?? "READY",
          reason: instance.reason ?? "serving on 127.0.0.1:40000",
          since: "2026-01-01T00:00:00Z",
          restartsLastHour: instance.restartsLastHour ?? 0,
          lastExit: instance.lastExit,
        }),
      ),
  };
}

const check = (view: ClusterView, activeApiKeys = 1) => {
  const report = assessHealth({ view, activeApiKeys, now: new Date("2026-01-01T01:00:00Z") });
  return { verdict: report.verdict, summary: report.summary, lines: report.findings.map((f) => f.message) };
};

describe("assessHealth", () => {
  it.each([
    {
      situation: "three nodes, one model READY",
      view: cluster([{ name: "a" }, { name: "b" }, { name: "c" }], [{ id: "s-1", model: "s", node: "b" }]),
      verdict: "healthy",
      summary: "3/3 nodes alive, 1/1 models served (1 instance READY)",
      lines: [],
    },
    {
      situation: "nothing loaded",
      view: cluster([{ name: "a" }]),
      verdict: "healthy",
      summary: "1/1 nodes alive, 0/0 models served (0 instances READY)",
      lines: [],
    },
    {
      situation: "a node gone and one suspected, the model still served",
      view: cluster(
        [{ name: "a" }, { name: "b", state: "suspected" }, { name: "c", state: "gone" }],
        [{ id: "s-1", model: "s", node: "a" }],
      ),
      verdict: "degraded",
      summary: "1/3 nodes alive, 1/1 models served (1 instance READY)",
      lines: ["node b: suspected (not heard from for 4.2 s)", "node c: gone (not heard from for 12.3 s)"],
    },
    {
      situation: "one replica failing, the other serving",
      view: cluster(
        [{ name: "a" }, { name: "b" }],
        [
          { id: "s-1", model: "s", node: "a" },
          {
            id: "s-2",
            model: "s",
            node: "b",
            state: "FAILED",
            reason: "engine killed by SIGKILL; restarting in 0.3 s",
            restartsLastHour: 2,
            lastExit: "engine killed by SIGKILL",
          },
        ],
      ),
      verdict: "degraded",
      summary: "2/2 nodes alive, 1/1 models served (1 instance READY)",
      lines: [
        "instance s-2 FAILED (engine killed by SIGKILL; restarting in 0.3 s); 1 of 2 instances of s serve",
        "instance s-2 on b: engine restarted 2 times in the last hour (last: engine killed by SIGKILL)",
      ],
    },
    {
      situation: "the only model loading: nothing can be served",
      view: cluster(
        [{ name: "a" }],
        [{ id: "s-1", model: "s", node: "a", state: "LOADING", reason: "loading s (1.1 MiB)" }],
      ),
      verdict: "down",
      summary: "1/1 nodes alive, 0/1 models served (0 instances READY)",
      lines: ["model s cannot be served: s-1 LOADING (loading s (1.1 MiB))"],
    },
    {
      situation: "one of two models unplaceable and the other's head gone",
      view: cluster(
        [{ name: "a" }, { name: "b", state: "gone" }],
        [
          { id: "big-1", model: "big", node: "a", suspended: "needs 40 GiB, the cluster has 20 GiB" },
          { id: "s-1", model: "s", node: "b", unreported: true },
        ],
      ),
      verdict: "down",
      summary: "1/2 nodes alive, 0/2 models served (0 instances READY)",
      lines: [
        "node b: gone (not heard from for 12.3 s)",
        "model big cannot be served: big-1 not placed (needs 40 GiB, the cluster has 20 GiB)",
        "model s cannot be served: s-1 unreported: its head b is gone",
      ],
    },
    {
      situation: "one model of two down is degraded, not down",
      view: cluster(
        [{ name: "a" }],
        [
          { id: "s-1", model: "s", node: "a" },
          { id: "t-1", model: "t", node: "a", state: "FAILED", reason: "engine exit code 1" },
        ],
      ),
      verdict: "degraded",
      summary: "1/1 nodes alive, 1/2 models served (1 instance READY)",
      lines: ["model t cannot be served: t-1 FAILED (engine exit code 1)"],
    },
    {
      situation: "a draining instance beside a serving one is not a problem",
      view: cluster(
        [{ name: "a" }, { name: "b" }],
        [
          { id: "s-1", model: "s", node: "a" },
          { id: "s-2", model: "s", node: "b", draining: true },
        ],
      ),
      verdict: "healthy",
      summary: "2/2 nodes alive, 1/1 models served (2 instances READY)",
      lines: [],
    },
    {
      situation: "disk nearly full, a corrupt model, an engine of another version",
      view: cluster([
        { name: "a", health: { modelsDisk: { freeBytes: 5 * gib, totalBytes: 100 * gib } } },
        { name: "b", health: { corruptModels: ["qwen"] } },
        { name: "c", engine: "0.6.0 (abc1234)" },
      ]),
      verdict: "degraded",
      summary: "3/3 nodes alive, 0/0 models served (0 instances READY)",
      lines: [
        "node a: 5.0 GiB free of 100 GiB (5.0%) on the disk that holds its models",
        "node b: model qwen is corrupt (its file no longer matches the sha256 recorded when it was stored); pull it again (herd pull) or remove it",
        "node c: engine 0.6.0 (abc1234), the rest run 0.5.0 (de3ff81); it is never put in a split with them",
      ],
    },
    {
      situation: "two nodes of two versions: the answering node's is the reference",
      view: cluster([{ name: "a", engine: "0.6.0 (abc1234)" }, { name: "b" }]),
      verdict: "degraded",
      summary: "2/2 nodes alive, 0/0 models served (0 instances READY)",
      lines: [
        "node b: engine 0.5.0 (de3ff81), the rest run 0.6.0 (abc1234); it is never put in a split with them",
      ],
    },
    {
      situation: "an exposed node with --insecure-no-auth",
      view: cluster([{ name: "a", health: { apiExposed: true, authDisabled: true } }]),
      verdict: "degraded",
      summary: "1/1 nodes alive, 0/0 models served (0 instances READY)",
      lines: ["node a: its API is on the network with no key asked for (--insecure-no-auth)"],
    },
  ])("$situation: $verdict", ({ view, verdict, summary, lines }) => {
    expect(check(view)).toEqual({ verdict, summary, lines });
  });

  it("reports an exposed node of a cluster without keys, and not once a key exists", () => {
    const view = cluster([{ name: "a", health: { apiExposed: true } }]);
    expect(check(view, 0).lines).toEqual([
      "node a: its API is on the network but the cluster has no API key, so it refuses every request (herd keys create --scope admin)",
    ]);
    expect(check(view, 1).lines).toEqual([]);
  });
});
