import { describe, expect, it } from "vitest";
import { InstanceSummary } from "../protocol/cluster.js";
import { NodeId } from "../protocol/ids.js";
import { clusterView } from "./cluster-view.js";
import { applyEvent, initialNodeState, type NodeStateEvent } from "./node-state.js";
import { testNodeProfile } from "./test-node-profile.js";

const ids = {
  a: NodeId.parse("10000000-0000-4000-8000-000000000000"),
  b: NodeId.parse("20000000-0000-4000-8000-000000000000"),
  c: NodeId.parse("30000000-0000-4000-8000-000000000000"),
};
type Name = keyof typeof ids;
const profile = testNodeProfile();
const joinedAt: Record<Name, number> = { a: 300, b: 100, c: 200 };
const introduction = (name: Name) => ({
  id: ids[name],
  name,
  joinedAt: joinedAt[name],
  incarnation: "first",
  endpoints: [`${name}:52416`],
});
const summary = (id: string, node: Name) =>
  InstanceSummary.parse({ id, model: "m", node: ids[node], state: "READY", reason: "", since: "" });
const link = (from: Name, to: Name) => ({
  from: ids[from],
  to: ids[to],
  rttMs: 1,
  throughputBytesPerSecond: 1e9,
  measuredAt: 0,
});
const heartbeat = (name: Name, at: number, instances: InstanceSummary[] = []): NodeStateEvent => ({
  type: "heartbeat-received",
  introduction: introduction(name),
  profile,
  links: [link(name, "a")],
  instances,
  models: [],
  sentInFlight: new Map(),
  at,
});

/** Node a's view after `events`, as `herd status` lists it. */
function status(events: NodeStateEvent[], now: number) {
  const started: NodeStateEvent = { type: "hello-received", introduction: introduction("a"), profile, at: 0 };
  const view = clusterView(
    [started, ...events].reduce(applyEvent, initialNodeState(ids.a)),
    [summary("here-1", "a")],
    now,
  );
  const name = (id: string) => Object.entries(ids).find(([, each]) => each === id)?.[0];
  return {
    nodes: view.nodes.map(
      (node) => `${node.name} ${node.state} ${node.role}, seen ${node.lastSeenMsAgo} ms ago`,
    ),
    links: view.links.map((each) => `${name(each.from)}>${name(each.to)}`),
    instances: view.instances.map((instance) => `${instance.id} on ${name(instance.node)}`),
  };
}

describe("clusterView", () => {
  it("lists nodes in the order they joined, the coordinator first, and this node's instances first", () => {
    expect(status([heartbeat("c", 900, [summary("there-1", "c")]), heartbeat("b", 1000)], 1500)).toEqual({
      nodes: [
        "b alive coordinator, seen 500 ms ago",
        "c alive member, seen 600 ms ago",
        "a alive member, seen 1500 ms ago",
      ],
      links: ["c>a", "b>a"],
      instances: ["here-1 on a", "there-1 on c"],
    });
  });

  it("keeps a gone node in the list but not its links or instances", () => {
    const events = [
      heartbeat("c", 900, [summary("there-1", "c")]),
      { type: "clock-ticked", at: 11_000 } as const,
    ];
    expect(status(events, 11_000)).toEqual({
      nodes: ["c gone member, seen 10100 ms ago", "a alive coordinator, seen 0 ms ago"],
      links: [],
      instances: ["here-1 on a"],
    });
  });
});
