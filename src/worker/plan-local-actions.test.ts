import { describe, expect, it } from "vitest";
import type { LocalProcessEvent } from "../cluster/local-processes.js";
import { applyEvent, initialNodeState, type NodeState } from "../cluster/node-state.js";
import { PlacedInstance } from "../protocol/cluster.js";
import type { NodeId } from "../protocol/ids.js";
import type { InstanceStatus } from "../protocol/instance.js";
import { type LocalAction, planLocalActions, processKey } from "./plan-local-actions.js";

const here = "node-here" as NodeId;
const other = "node-other" as NodeId;

/** An instance headed by `head`, whose RPC shards run on `rpcNodes`. */
const instance = (
  id: string,
  head: NodeId,
  rpcNodes: NodeId[] = [],
  extra: { suspended?: string; draining?: string; rpcTransport?: "tunnel" | "direct" } = {},
) =>
  PlacedInstance.parse({
    id,
    model: "m",
    contextSize: 256,
    parallel: 1,
    embeddings: false,
    createdAt: "2026-01-01T00:00:00Z",
    node: head,
    plan: {
      head,
      splitMode: rpcNodes.length > 0 ? "layer" : "none",
      shards: [{ node: head, layerStart: 0, layerEnd: 4, fraction: 1 }],
      rpcNodes,
      rpcTransport: extra.rpcTransport ?? "tunnel",
    },
    suspended: extra.suspended,
    draining: extra.draining,
  });

/**
 * This node's state: `desired` placed across the cluster, the engines `running` here as they were
 * started (READY), and the shards running here, as their supervisors reported them.
 */
function nodeState(desired: PlacedInstance[], running: PlacedInstance[], shards: string[]): NodeState {
  const state = initialNodeState(here, {
    epoch: 1,
    writtenBy: here,
    instances: desired,
    upstreams: [],
    routes: {},
  });
  const events: LocalProcessEvent[] = [
    ...running.flatMap((each): LocalProcessEvent[] => {
      const status = {
        ...each,
        state: "READY",
        reason: "serving",
        since: each.createdAt,
        restarts: 0,
        workarounds: [],
      };
      return [
        {
          type: "engine-started",
          instanceId: each.id,
          processKey: processKey(each),
          status: status as InstanceStatus,
        },
        { type: "engine-status-changed", processKey: processKey(each), status: status as InstanceStatus },
      ];
    }),
    ...shards.flatMap((name): LocalProcessEvent[] => [
      { type: "shard-started", name, host: "127.0.0.1" },
      { type: "shard-ready", name, port: 50052 },
    ]),
  ];
  return events.reduce(applyEvent, state);
}

/** An action as the node's log tells it. */
function told(action: LocalAction): string {
  switch (action.type) {
    case "start-shard":
      return `start shard ${action.name}${action.transport === "direct" ? ` on ${action.host ?? "the network"}` : ""}`;
    case "stop-shard":
      return `stop shard ${action.name}`;
    case "start-engine":
      return `start engine ${action.instance.id}`;
    case "stop-engine":
      return `stop engine ${action.instanceId}${action.removed ? "" : " to restart it"}`;
  }
}

describe("planLocalActions", () => {
  it.each<{
    situation: string;
    desired: PlacedInstance[];
    running?: PlacedInstance[];
    shards?: string[];
    actions: string[];
  }>([
    { situation: "a node with nothing placed on it", desired: [instance("m-1", other)], actions: [] },
    { situation: "a model is loaded here", desired: [instance("m-1", here)], actions: ["start engine m-1"] },
    {
      situation: "a node holds a shard of a model headed elsewhere",
      desired: [instance("m-1", other, [here])],
      actions: ["start shard m-1-s0"],
    },
    {
      situation: "a node heads a tensor split and holds a shard of it too: the shard starts first",
      desired: [instance("m-1", here, [other, here])],
      actions: ["start shard m-1-s1", "start engine m-1"],
    },
    {
      situation: "a shard is placed here with the direct transport",
      desired: [instance("m-1", other, [here], { rpcTransport: "direct" })],
      actions: ["start shard m-1-s0 on the network"],
    },
    {
      situation: "everything already runs as it should",
      desired: [instance("m-1", here), instance("m-2", other, [here])],
      running: [instance("m-1", here)],
      shards: ["m-2-s0"],
      actions: [],
    },
    {
      situation: "a model is unloaded",
      desired: [],
      running: [instance("m-1", here)],
      shards: ["m-2-s0"],
      actions: ["stop shard m-2-s0", "stop engine m-1"],
    },
    {
      situation: "a model is drained: its engine serves the requests in flight",
      desired: [instance("m-1", here, [], { draining: "2026-01-01T00:00:00Z" })],
      running: [instance("m-1", here)],
      actions: [],
    },
    {
      situation: "a shard node was lost and the instance was placed again without it",
      desired: [instance("m-1", here)],
      running: [instance("m-1", here, [other])],
      actions: ["stop engine m-1 to restart it", "start engine m-1"],
    },
    {
      situation: "the instance no longer fits and is suspended",
      desired: [instance("m-1", here, [], { suspended: "does not fit" })],
      running: [instance("m-1", here)],
      actions: ["stop engine m-1"],
    },
    {
      situation: "a suspended instance's shards do not start either",
      desired: [instance("m-1", other, [here], { suspended: "does not fit" })],
      actions: [],
    },
    {
      situation: "recovery moved the head to another node",
      desired: [instance("m-1", other, [here])],
      running: [instance("m-1", here)],
      actions: ["start shard m-1-s0", "stop engine m-1"],
    },
    {
      situation: "a restarted node brings back what its saved state lists",
      desired: [instance("m-1", here), instance("m-2", here)],
      actions: ["start engine m-1", "start engine m-2"],
    },
  ])("$situation", ({ desired, running, shards, actions }) => {
    const planned = planLocalActions(nodeState(desired, running ?? [], shards ?? []));
    expect(planned.map(told)).toEqual(actions);
  });

  it("starts a shard again where its address changed: on the cable's address, then on loopback once the cable is gone", () => {
    const routed = (route: object) => {
      const placed = instance("m-1", other, [here]);
      return PlacedInstance.parse({ ...placed, plan: { ...placed.plan, rpcRoutes: [route] } });
    };
    const overCable = routed({ transport: "direct", host: "10.9.0.2" });
    const events: LocalProcessEvent[] = [
      { type: "shard-started", name: "m-1-s0", host: "10.9.0.2" },
      { type: "shard-ready", name: "m-1-s0", port: 50052 },
    ];
    const onCable = events.reduce(applyEvent, nodeState([overCable], [], []));
    expect(planLocalActions(nodeState([overCable], [], [])).map(told)).toEqual([
      "start shard m-1-s0 on 10.9.0.2",
    ]);
    expect(planLocalActions(onCable).map(told)).toEqual([]);
    const tunnelled = {
      ...onCable,
      desired: { ...onCable.desired, instances: [routed({ transport: "tunnel" })] },
    };
    expect(planLocalActions(tunnelled).map(told)).toEqual(["stop shard m-1-s0", "start shard m-1-s0"]);
  });
});
