import { describe, expect, it } from "vitest";
import {
  DesiredEvent,
  InstancePlan,
  type InstanceSummary,
  type NodeIntroduction,
  PlacedInstance,
} from "../protocol/cluster.js";
import { InstanceId, NodeId } from "../protocol/ids.js";
import {
  applyEvent,
  initialNodeState,
  type NodeState,
  type NodeStateEvent,
  refuseChange,
} from "./node-state.js";
import { nodeStateChanges } from "./node-state-changes.js";
import { testNodeProfile } from "./test-node-profile.js";

const ids = {
  self: NodeId.parse("20000000-0000-4000-8000-000000000000"),
  older: NodeId.parse("10000000-0000-4000-8000-000000000000"),
  younger: NodeId.parse("30000000-0000-4000-8000-000000000000"),
};
type Name = keyof typeof ids;
const joinedAt: Record<Name, number> = { older: 500, self: 1000, younger: 2000 };
const names = new Map(Object.entries(ids).map(([name, id]) => [id, name]));

const profile = (memoryAvailableBytes = 5e8) => testNodeProfile({ memoryAvailableBytes });
const introduction = (name: Name, incarnation = "first"): NodeIntroduction => ({
  id: ids[name],
  name,
  joinedAt: joinedAt[name],
  incarnation,
  endpoints: [`${name}:52416`],
});
const link = (from: Name, to: Name, rttMs = 1) => ({
  from: ids[from],
  to: ids[to],
  rttMs,
  throughputBytesPerSecond: 1e9,
  measuredAt: 0,
});

const hello = (name: Name, at: number, incarnation?: string): NodeStateEvent => ({
  type: "hello-received",
  introduction: introduction(name, incarnation),
  profile: profile(),
  at,
});
const summaryOf = (
  id: string,
  node: Name,
  state: InstanceSummary["state"],
  inFlight = 0,
): InstanceSummary => ({
  id,
  model: "m",
  node: ids[node],
  state,
  reason: state.toLowerCase(),
  since: "then",
  parallel: 2,
  inFlight,
  served: 0,
  restartsLastHour: 0,
});
const heartbeat = (
  name: Name,
  at: number,
  report: {
    links?: ReturnType<typeof link>[];
    instances?: InstanceSummary[];
    models?: string[];
    sentInFlight?: Map<string, number>;
  } = {},
): NodeStateEvent => ({
  type: "heartbeat-received",
  introduction: introduction(name),
  profile: profile(),
  links: report.links ?? [],
  instances: report.instances ?? [],
  models: report.models ?? [],
  sentInFlight: report.sentInFlight ?? new Map(),
  at,
});
const tick = (at: number): NodeStateEvent => ({ type: "clock-ticked", at });
const lost = (name: Name, at: number): NodeStateEvent => ({ type: "connection-lost", nodeId: ids[name], at });

/** This node, started at time 0. */
const started = applyEvent(initialNodeState(ids.self), hello("self", 0));
const replay = (events: NodeStateEvent[]) => events.reduce(applyEvent, started);

/** What a person reads in `herd nodes`: each node's state and why, the coordinator, the links. */
function summary(state: NodeState) {
  return {
    members: Object.fromEntries(
      [...state.members.values()].map((member) => [
        member.introduction.name,
        `${member.state}: ${member.reason}`,
      ]),
    ),
    coordinator: state.coordinator && names.get(state.coordinator),
    links: [...state.links.values()].map(
      (each) => `${names.get(each.from)}>${names.get(each.to)} ${each.rttMs} ms`,
    ),
  };
}

describe("applyEvent: membership, coordinator and links", () => {
  it.each([
    {
      situation: "a node starts alone: it coordinates",
      events: [],
      members: { self: "alive: joined" },
      coordinator: "self",
    },
    {
      situation: "a node that joined later connects: this node still coordinates",
      events: [hello("younger", 100)],
      members: { self: "alive: joined", younger: "alive: joined" },
      coordinator: "self",
    },
    {
      situation: "this node meets a cluster that was there first: its first node coordinates",
      events: [hello("older", 100)],
      members: { self: "alive: joined", older: "alive: joined" },
      coordinator: "older",
    },
    {
      situation: "the coordinator's connection drops: it is suspected and the next node coordinates",
      events: [hello("older", 100), lost("older", 200)],
      members: { self: "alive: joined", older: "suspected: connection lost" },
      coordinator: "self",
    },
    {
      situation: "a peer is silent for 3 s: it is suspected",
      events: [hello("younger", 100), tick(3100)],
      members: { self: "alive: joined", younger: "suspected: silent for 3 s" },
      coordinator: "self",
    },
    {
      situation: "a peer keeps sending heartbeats: it stays alive however long the cluster runs",
      events: [hello("younger", 100), heartbeat("younger", 2900), heartbeat("younger", 5800), tick(6000)],
      members: { self: "alive: joined", younger: "alive: joined" },
      coordinator: "self",
    },
    {
      situation: "a peer is silent for 10 s: it is gone",
      events: [hello("younger", 100), tick(3100), tick(10_100)],
      members: { self: "alive: joined", younger: "gone: silent for 10 s" },
      coordinator: "self",
    },
    {
      situation: "a gone peer is heard from again: it is back under its id",
      events: [hello("younger", 100), tick(10_100), heartbeat("younger", 11_000)],
      members: { self: "alive: joined", younger: "alive: heard from again" },
      coordinator: "self",
    },
    {
      situation: "a peer restarts: it rejoins under its id",
      events: [hello("younger", 100), lost("younger", 200), hello("younger", 300, "second")],
      members: { self: "alive: joined", younger: "alive: restarted and rejoined" },
      coordinator: "self",
    },
    {
      situation: "a suspected peer loses its connection too: it stays suspected for its silence",
      events: [hello("younger", 100), tick(3100), lost("younger", 3200)],
      members: { self: "alive: joined", younger: "suspected: silent for 3 s" },
      coordinator: "self",
    },
    {
      situation: "this node is busy for a minute: it never suspects itself",
      events: [tick(60_000)],
      members: { self: "alive: joined" },
      coordinator: "self",
    },
    {
      situation: "a node that is not a member loses its connection: nothing changes",
      events: [lost("older", 100)],
      members: { self: "alive: joined" },
      coordinator: "self",
    },
    {
      situation: "this node measures its link to a peer, then again",
      events: [
        hello("younger", 100),
        { type: "link-measured", link: link("self", "younger", 3) },
        { type: "link-measured", link: link("self", "younger", 2) },
      ],
      members: { self: "alive: joined", younger: "alive: joined" },
      coordinator: "self",
      links: ["self>younger 2 ms"],
    },
    {
      situation: "a peer reports its links, and one it has no say in",
      events: [
        hello("younger", 100),
        heartbeat("younger", 900, { links: [link("younger", "self", 4), link("older", "self", 9)] }),
      ],
      members: { self: "alive: joined", younger: "alive: joined" },
      coordinator: "self",
      links: ["younger>self 4 ms"],
    },
  ] satisfies Array<{
    situation: string;
    events: NodeStateEvent[];
    members: Record<string, string>;
    coordinator: Name;
    links?: string[];
  }>)("$situation", ({ events, members, coordinator, links }) => {
    expect(summary(replay(events))).toEqual({ members, coordinator, links: links ?? [] });
  });

  it("keeps a heartbeat that arrives late from turning back the clock", () => {
    const state = replay([
      hello("younger", 100),
      heartbeat("younger", 3000),
      heartbeat("younger", 2000),
      tick(5500),
    ]);
    expect(state.members.get(ids.younger)?.state).toBe("alive");
  });

  it("keeps this node's freshest profile", () => {
    const state = replay([{ type: "profile-sampled", profile: profile(123) }]);
    expect(state.members.get(ids.self)?.profile?.memoryAvailableBytes).toBe(123);
  });

  it("leaves the state it was given unchanged", () => {
    const before = replay([hello("younger", 100)]);
    applyEvent(before, tick(20_000));
    expect(summary(before).members.younger).toBe("alive: joined");
  });
});

describe("applyEvent: what peers report", () => {
  /** What a person reads of the instances elsewhere: each one's node, state and requests. */
  const reported = (state: NodeState) =>
    [...state.reports.values()].flatMap((report) =>
      report.instances.map(
        (instance) =>
          `${names.get(instance.node)}: ${instance.id} ${instance.state}, ${instance.inFlight - (report.sentAtReport.get(instance.id) ?? 0)} from others`,
      ),
    );

  it.each([
    {
      situation: "a peer reports the instance it heads as ready",
      events: [heartbeat("younger", 900, { instances: [summaryOf("m-1", "younger", "READY")] })],
      instances: ["younger: m-1 READY, 0 from others"],
    },
    {
      situation: "a peer's report counts requests of this node and of others",
      events: [
        heartbeat("younger", 900, {
          instances: [summaryOf("m-1", "younger", "READY", 5)],
          sentInFlight: new Map([["m-1", 2]]),
        }),
      ],
      instances: ["younger: m-1 READY, 3 from others"],
    },
    {
      situation: "a peer's report names an instance another node heads",
      events: [heartbeat("younger", 900, { instances: [summaryOf("m-2", "older", "READY")] })],
      instances: [],
    },
    {
      situation: "a peer's next report no longer has the instance (it was unloaded)",
      events: [
        heartbeat("younger", 900, { instances: [summaryOf("m-1", "younger", "READY")] }),
        heartbeat("younger", 1900, {}),
      ],
      instances: [],
    },
    {
      situation: "a peer that reported an instance is gone",
      events: [
        heartbeat("younger", 900, { instances: [summaryOf("m-1", "younger", "READY")] }),
        tick(11_000),
      ],
      instances: [],
    },
    {
      situation:
        "a peer that reported an instance restarted: it runs nothing of what it said until it reports again",
      events: [
        heartbeat("younger", 900, { instances: [summaryOf("m-1", "younger", "READY")] }),
        hello("younger", 2000, "second"),
      ],
      instances: [],
    },
    {
      situation: "a peer that reported an instance is only suspected",
      events: [heartbeat("younger", 900, { instances: [summaryOf("m-1", "younger", "READY")] }), tick(4000)],
      instances: ["younger: m-1 READY, 0 from others"],
    },
  ])("$situation", ({ events, instances }) => {
    expect(reported(replay([hello("younger", 100), ...events]))).toEqual(instances);
  });

  it("keeps the models a peer holds, for choosing a head", () => {
    const state = replay([hello("younger", 100), heartbeat("younger", 900, { models: ["m", "n"] })]);
    expect(state.reports.get(ids.younger)?.models).toEqual(["m", "n"]);
  });
});

describe("nodeStateChanges: what the event stream tells people", () => {
  it.each([
    {
      situation: "a node joins that was there first",
      events: [hello("older", 100)],
      changes: [
        { type: "node-joined", nodeId: ids.older, name: "older" },
        { type: "coordinator-changed", nodeId: ids.older, previous: ids.self },
      ],
    },
    {
      situation: "a peer falls silent",
      events: [tick(3100)],
      changes: [
        {
          type: "node-state-changed",
          nodeId: ids.younger,
          name: "younger",
          state: "suspected",
          reason: "silent for 3 s",
        },
      ],
    },
    { situation: "a peer's heartbeat arrives as usual", events: [heartbeat("younger", 900)], changes: [] },
    {
      situation: "an instance headed elsewhere becomes ready",
      events: [
        heartbeat("younger", 900, { instances: [summaryOf("m-1", "younger", "LOADING")] }),
        heartbeat("younger", 1900, { instances: [summaryOf("m-1", "younger", "LOADING", 1)] }),
        heartbeat("younger", 2900, { instances: [summaryOf("m-1", "younger", "READY")] }),
      ],
      changes: [
        {
          type: "instance-state-changed",
          instanceId: "m-1",
          model: "m",
          state: "LOADING",
          reason: "loading",
        },
        { type: "instance-state-changed", instanceId: "m-1", model: "m", state: "READY", reason: "ready" },
      ],
    },
  ])("$situation", ({ events, changes }) => {
    // Each event's changes, in order, as the shell publishes them.
    let state = replay([hello("younger", 100)]);
    const published = events.flatMap((event) => {
      const before = state;
      state = applyEvent(before, event);
      return nodeStateChanges(before, state);
    });
    expect(published).toEqual(changes);
  });
});

describe("applyEvent: the desired state", () => {
  const placed = (id: string, model = "m") =>
    PlacedInstance.parse({
      id,
      model,
      contextSize: 512,
      parallel: 1,
      embeddings: false,
      createdAt: "2024-01-01T00:00:00.000Z",
      node: ids.self,
    });
  const instanceId = (id: string) => InstanceId.parse(id);
  const load = (id: string, cause: "load" | "replica" | "move" = "load"): NodeStateEvent => ({
    type: "instance-placed",
    instance: placed(id),
    cause,
  });
  const unload = (match: string, reason = "unloaded"): NodeStateEvent => ({
    type: "instances-removed",
    match,
    reason,
  });
  /** The coordinator's recovery placed the instance again, headed (alone) on `node`. */
  const replan = (id: string, node: Name): NodeStateEvent => ({
    type: "instance-replanned",
    instanceId: instanceId(id),
    node: ids[node],
    plan: InstancePlan.parse({
      head: ids[node],
      splitMode: "none",
      shards: [{ node: ids[node], layerStart: 0, layerEnd: 6, fraction: 1 }],
    }),
  });
  const suspend = (id: string, reason: string): NodeStateEvent => ({
    type: "instance-suspended",
    instanceId: instanceId(id),
    reason,
  });
  const drain = (instances: string[], since: string): NodeStateEvent => ({
    type: "drain-started",
    instanceIds: instances.map(instanceId),
    since,
  });
  const copy = (epoch: number, writtenBy: Name, instances: string[]): NodeStateEvent => ({
    type: "desired-state-received",
    state: {
      epoch,
      writtenBy: ids[writtenBy],
      instances: instances.map((id) => placed(id)),
      upstreams: [],
      routes: {},
    },
  });
  /** What `herd status` shows of the desired state. */
  const desired = (state: NodeState) =>
    `epoch ${state.desired.epoch} by ${state.desired.writtenBy ? names.get(state.desired.writtenBy) : "no one"}: ${state.desired.instances
      .map(
        (instance) =>
          instance.id +
          (instance.node === ids.self ? "" : ` on ${names.get(instance.node)}`) +
          (instance.suspended ? ` (suspended: ${instance.suspended})` : "") +
          (instance.draining ? ` (draining since ${instance.draining})` : ""),
      )
      .join(", ")}`;

  it.each([
    { situation: "a coordinator loads a model", events: [load("m-1")], expected: "epoch 1 by self: m-1" },
    {
      situation: "a coordinator loads a second replica, then unloads the model",
      events: [load("m-1"), load("m-2", "replica"), unload("m")],
      expected: "epoch 3 by self: ",
    },
    {
      situation: "two nodes load the same model at once: the coordinator keeps the first",
      events: [load("m-1"), load("m-2")],
      expected: "epoch 1 by self: m-1",
    },
    {
      situation: "a node is stopped with --drain: the replacement is placed beside the instance it replaces",
      events: [load("m-1"), load("m-2", "move"), drain(["m-1"], "T1")],
      expected: "epoch 3 by self: m-1 (draining since T1), m-2",
    },
    {
      situation: "a node that does not coordinate is asked to load a model",
      events: [hello("older", 100), load("m-1")],
      expected: "epoch 0 by no one: ",
    },
    {
      situation: "the same instance is loaded twice",
      events: [load("m-1"), load("m-1", "replica")],
      expected: "epoch 1 by self: m-1",
    },
    {
      situation: "a model that is not loaded is unloaded",
      events: [unload("other")],
      expected: "epoch 0 by no one: ",
    },
    {
      situation: "a node the instance ran on is gone: recovery places it on the node left",
      events: [load("m-1"), replan("m-1", "younger")],
      expected: "epoch 2 by self: m-1 on younger",
    },
    {
      situation: "an instance no longer fits on the nodes left",
      events: [load("m-1"), suspend("m-1", "does not fit")],
      expected: "epoch 2 by self: m-1 (suspended: does not fit)",
    },
    {
      situation: "a suspended instance fits again once a node returns",
      events: [load("m-1"), suspend("m-1", "does not fit"), replan("m-1", "self")],
      expected: "epoch 3 by self: m-1",
    },
    {
      situation: "a drain starts",
      events: [load("m-1"), drain(["m-1"], "T1")],
      expected: "epoch 2 by self: m-1 (draining since T1)",
    },
    {
      situation: "a drain of an instance already draining keeps when it started, and takes no epoch",
      events: [load("m-1"), drain(["m-1"], "T1"), drain(["m-1"], "T2")],
      expected: "epoch 2 by self: m-1 (draining since T1)",
    },
    {
      situation: "a drained instance is removed",
      events: [load("m-1"), drain(["m-1"], "T1"), unload("m-1", "drained")],
      expected: "epoch 3 by self: ",
    },
    {
      situation: "a drain names an instance that is not there: nothing drains",
      events: [load("m-1"), drain(["m-1", "m-9"], "T1")],
      expected: "epoch 1 by self: m-1",
    },
    {
      situation: "a replan by a node that is no longer the coordinator",
      events: [load("m-1"), hello("older", 100), replan("m-1", "younger")],
      expected: "epoch 1 by self: m-1",
    },
    {
      situation: "a replan of an instance unloaded meanwhile",
      events: [load("m-1"), unload("m"), replan("m-1", "younger")],
      expected: "epoch 2 by self: ",
    },
    {
      situation:
        "the old coordinator returns mid-recovery: this node's replan is refused and the coordinator's next state wins",
      events: [
        hello("older", 100),
        copy(7, "older", ["m-1"]),
        lost("older", 200),
        hello("older", 300),
        replan("m-1", "younger"),
        copy(8, "older", ["m-1"]),
      ],
      expected: "epoch 8 by older: m-1",
    },
    {
      situation: "the coordinator is gone mid-recovery: this node takes over and replans from its epoch",
      events: [hello("older", 100), copy(7, "older", ["m-1"]), tick(10_200), replan("m-1", "younger")],
      expected: "epoch 8 by self: m-1 on younger",
    },
    {
      situation: "the coordinator's newer state arrives",
      events: [hello("older", 100), copy(4, "older", ["m-1"])],
      expected: "epoch 4 by older: m-1",
    },
    {
      situation: "a peer that missed changes sends its older state",
      events: [copy(4, "older", ["m-1"]), copy(3, "older", [])],
      expected: "epoch 4 by older: m-1",
    },
    {
      situation: "two coordinators wrote the same epoch while the cluster was split: the higher id wins",
      events: [copy(4, "older", ["m-1"]), copy(4, "younger", ["m-2"]), copy(4, "older", ["m-3"])],
      expected: "epoch 4 by younger: m-2",
    },
    {
      situation: "a coordinator that took over from a gone one goes on from its epoch",
      events: [hello("older", 100), copy(7, "older", ["m-1"]), lost("older", 200), load("m-2", "replica")],
      expected: "epoch 8 by self: m-1, m-2",
    },
  ])("$situation", ({ events, expected }) => {
    expect(desired(replay(events))).toBe(expected);
  });

  it.each([
    {
      situation: "this node does not coordinate",
      before: [hello("older", 100)],
      event: load("m-1"),
      reason: /not the coordinator/,
    },
    {
      situation: "a replan comes after another node took over coordinating",
      before: [load("m-1"), hello("older", 100)],
      event: replan("m-1", "younger"),
      reason: /not the coordinator/,
    },
    {
      situation: "the instance exists",
      before: [load("m-1")],
      event: load("m-1", "replica"),
      reason: /instance m-1 already exists/,
    },
    {
      situation: "the model is loaded already (a second load from another node)",
      before: [load("m-1")],
      event: load("m-2"),
      reason: /model 'm' is already loaded; unload it first/,
    },
    {
      situation: "nothing of the model is loaded",
      before: [],
      event: unload("m"),
      reason: /no instance of 'm' is loaded/,
    },
    {
      situation: "the instance to place again was unloaded",
      before: [],
      event: replan("m-1", "self"),
      reason: /instance m-1 no longer exists/,
    },
    {
      situation: "the instance to suspend was unloaded",
      before: [],
      event: suspend("m-1", "does not fit"),
      reason: /instance m-1 no longer exists/,
    },
    {
      situation: "a drain names an instance that is not there",
      before: [load("m-1")],
      event: drain(["m-1", "m-9"], "T1"),
      reason: /instance m-9 no longer exists/,
    },
    {
      situation: "an upstream that is not registered is removed",
      before: [],
      event: { type: "upstream-removed", name: "cloud" } as NodeStateEvent,
      reason: /no upstream named 'cloud'/,
    },
  ])("tells the asker why a change is refused when $situation", ({ before, event, reason }) => {
    if (!isDesiredChange(event)) throw new Error("a change is expected");
    expect(refuseChange(replay(before), event)?.message).toMatch(reason);
  });

  it.each([
    { situation: "a replica of a loaded model", before: [load("m-1")], event: load("m-2", "replica") },
    {
      situation: "a replacement for a node being stopped",
      before: [load("m-1")],
      event: load("m-2", "move"),
    },
    {
      situation: "a drain of an instance already draining",
      before: [load("m-1"), drain(["m-1"], "T1")],
      event: drain(["m-1"], "T2"),
    },
  ])("accepts $situation", ({ before, event }) => {
    if (!isDesiredChange(event)) throw new Error("a change is expected");
    expect(refuseChange(replay(before), event)).toBeUndefined();
  });

  it("starts from the desired state a node saved before it stopped", () => {
    const saved = copy(5, "older", ["m-1"]);
    if (saved.type !== "desired-state-received") throw new Error("a copy is expected");
    expect(desired(applyEvent(initialNodeState(ids.self, saved.state), hello("self", 0)))).toBe(
      "epoch 5 by older: m-1",
    );
  });
});

function isDesiredChange(event: NodeStateEvent): event is DesiredEvent {
  return DesiredEvent.safeParse(event).success;
}
