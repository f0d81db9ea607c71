import { describe, expect, it } from "vitest";
import { testViewNode } from "../cluster/test-node-profile.js";
import type { ClusterView, PathView } from "../protocol/cluster.js";
import { NodeId } from "../protocol/ids.js";
import { announcementKey, rdmaShortfalls, rdmaWarnings, unannouncedShortfalls } from "./rdma-warnings.js";
import { testInterface, testThunderboltPath } from "./test-interfaces.js";

const studio = NodeId.parse("10000000-0000-4000-8000-000000000000");
const m5 = NodeId.parse("20000000-0000-4000-8000-000000000000");

/** studio and m5 joined by one Thunderbolt path, as `GET /herd/v1/cluster` shows it. */
function viewWith(
  path: Partial<PathView>,
  engines: { studio: boolean; m5: boolean },
  reason?: string,
): ClusterView {
  const node = (id: NodeId, name: string, rdma: boolean) =>
    testViewNode(id, name, {
      engine: { version: "b1", backend: "metal", rpc: true, rdma },
      interfaces: [testInterface("en2", "thunderbolt", ["169.254.10.1/16"], { rdmaUnavailable: reason })],
    });
  const thunderbolt = testThunderboltPath(path);
  const link = (from: NodeId, to: NodeId, shown: PathView) => ({
    from,
    to,
    rttMs: 0.02,
    throughputBytesPerSecond: 7e9,
    measuredAt: 0,
    paths: [shown],
  });
  return {
    self: studio,
    coordinator: studio,
    epoch: 1,
    nodes: [node(studio, "studio", engines.studio), node(m5, "m5", engines.m5)],
    // Both ways, as both nodes measure it: warned about once.
    links: [
      link(studio, m5, thunderbolt),
      link(m5, studio, { ...thunderbolt, from: thunderbolt.to, to: thunderbolt.from }),
    ],
    desired: { epoch: 1, writtenBy: studio, instances: [], upstreams: [], routes: {} },
    instances: [],
  };
}

const both = { studio: true, m5: true };
describe("rdmaWarnings", () => {
  it.each([
    ["RDMA active: nothing to say", { rpc: "rdma (active)" }, both, undefined, []],
    ["no shard on it yet, both capable: nothing to say", {}, both, undefined, []],
    [
      "an engine built without RDMA",
      {},
      { studio: false, m5: true },
      undefined,
      ["studio's engine was built without RDMA"],
    ],
    [
      "activation failed: the engine's words",
      { rpc: "tcp (rdma failed: RDMA(Apple/UC) RTR failed: Operation not supported)" },
      both,
      undefined,
      ["its shard stayed on TCP: tcp (rdma failed: RDMA(Apple/UC) RTR failed: Operation not supported)"],
    ],
    ["a shard through the tunnel", { rpc: "tunnel" }, both, undefined, ["its shard goes through the tunnel"]],
    [
      "a Thunderbolt port that cannot",
      { rdmaPossible: false },
      both,
      "macOS 26.1 is older than 26.2",
      ["RDMA cannot run on it: macOS 26.1 is older than 26.2"],
    ],
    [
      "an Ethernet path without RDMA devices",
      { rdmaPossible: false, kind: "ethernet" as const },
      both,
      undefined,
      [],
    ],
  ])("%s", (_situation, path, engines, reason, expected) => {
    const warnings = rdmaWarnings(viewWith(path, engines, reason));
    expect(warnings).toHaveLength(expected.length);
    for (const [index, words] of expected.entries()) {
      expect(warnings[index]).toContain("studio <-> m5 (169.254.10.1 -> 169.254.10.2");
      expect(warnings[index]).toContain(words);
    }
  });
});

describe("rdmaShortfalls", () => {
  it("says which shortfalls have a shard on them, once per path whichever way it was measured", () => {
    const unbuilt = { studio: false, m5: true };
    expect(rdmaShortfalls(viewWith({}, unbuilt)).map((shortfall) => shortfall.rpc)).toEqual([null]);
    const onTcp = rdmaShortfalls(viewWith({ rpc: "tcp" }, both));
    expect(onTcp).toHaveLength(1);
    expect(onTcp[0]!.rpc).toBe("tcp");
    expect(onTcp[0]!.warning).toContain("its shard runs on TCP");
  });
});

describe("unannouncedShortfalls", () => {
  it("announces a shard without RDMA once, again when the engine's word for it changes, and never a path without a shard", () => {
    const announced = new Set<string>();
    expect(unannouncedShortfalls(viewWith({}, { studio: false, m5: true }), announced)).toEqual([]);
    const onTcp = unannouncedShortfalls(viewWith({ rpc: "tcp" }, both), announced);
    expect(onTcp.map((shortfall) => shortfall.rpc)).toEqual(["tcp"]);
    for (const shortfall of onTcp) announced.add(announcementKey(shortfall));
    expect(unannouncedShortfalls(viewWith({ rpc: "tcp" }, both), announced)).toEqual([]);
    const failed = "tcp (rdma failed: RDMA(Apple/UC) RTR failed: Operation not supported)";
    expect(
      unannouncedShortfalls(viewWith({ rpc: failed }, both), announced).map((shortfall) => shortfall.rpc),
    ).toEqual([failed]);
    expect(unannouncedShortfalls(viewWith({ rpc: "rdma (active)" }, both), announced)).toEqual([]);
  });
});
