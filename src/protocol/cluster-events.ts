import type { MemberState } from "./cluster.js";
import type { NodeId } from "./ids.js";

/** Cluster facts, in the past tense, published on `/herd/v1/events`. */
export type ClusterEvent =
  | { type: "node-joined"; nodeId: NodeId; name: string }
  | { type: "node-state-changed"; nodeId: NodeId; name: string; state: MemberState; reason: string }
  | { type: "node-refused"; address: string; reason: string }
  | { type: "coordinator-changed"; nodeId: NodeId | null; previous: NodeId | null }
  | { type: "desired-state-changed"; epoch: number; writtenBy: NodeId | null }
  | { type: "links-measured"; count: number }
  | { type: "duplicate-node-id"; nodeId: NodeId; endpoint: string };
