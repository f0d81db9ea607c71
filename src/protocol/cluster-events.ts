import type { MemberState } from "./cluster.js";
import type { InstanceId, ModelName, NodeId } from "./ids.js";
import type { ModelRoute } from "./upstream.js";

/** An instance as a change to the desired state names it. */
export interface InstanceMention {
  instanceId: InstanceId;
  model: ModelName;
}

/**
 * A change applied to the desired state, as people follow it: what changed, and the epoch it made.
 * Every node publishes it as it adopts that epoch.
 */
export type DesiredStateEvent =
  | (InstanceMention & {
      type: "instance-placed";
      epoch: number;
      head: NodeId;
      /** Every node it runs on, the head first. */
      nodes: NodeId[];
      cause: "load" | "replica" | "move";
    })
  | (InstanceMention & {
      type: "instance-replanned";
      epoch: number;
      head: NodeId;
      nodes: NodeId[];
      /** Why, when it is not a node lost: the path a shard was reached over that went away. */
      reason?: string;
    })
  | (InstanceMention & { type: "instance-suspended"; epoch: number; reason: string })
  | { type: "drain-started"; epoch: number; instances: InstanceMention[]; since: string }
  | { type: "instances-removed"; epoch: number; instances: InstanceMention[]; reason: string }
  | { type: "upstream-registered"; epoch: number; name: string; url: string; models: string[] }
  | { type: "upstream-removed"; epoch: number; name: string }
  | { type: "routes-set"; epoch: number; routes: Record<string, ModelRoute | null> }
  | { type: "alias-set"; epoch: number; name: string; chain: string[]; keepLoaded: boolean }
  | { type: "alias-removed"; epoch: number; name: string };

/** Cluster facts, in the past tense, published on `/herd/v1/events`. */
export type ClusterEvent =
  | { type: "node-joined"; nodeId: NodeId; name: string }
  | { type: "node-state-changed"; nodeId: NodeId; name: string; state: MemberState; reason: string }
  | { type: "node-refused"; address: string; reason: string }
  | { type: "coordinator-changed"; nodeId: NodeId | null; previous: NodeId | null }
  | { type: "desired-state-changed"; epoch: number; writtenBy: NodeId | null }
  | DesiredStateEvent
  | { type: "links-measured"; count: number }
  /** A shard here connected without RDMA over a path that could carry it; `warning` says why, as `herd status` does. */
  | { type: "rdma-unused"; rpc: string; warning: string }
  | { type: "duplicate-node-id"; nodeId: NodeId; endpoint: string };
