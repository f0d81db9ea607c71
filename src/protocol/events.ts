import type { ClusterEvent } from "./cluster-events.js";
import type { InstanceId, ModelName, NodeId } from "./ids.js";
import type { InstanceState } from "./instance.js";

/** Facts a node publishes about itself, in the past tense. */
export type NodeEvent =
  | {
      type: "instance-state-changed";
      instanceId: InstanceId;
      model: ModelName;
      state: InstanceState;
      reason: string;
    }
  | { type: "instance-removed"; instanceId: InstanceId; model: ModelName }
  | {
      /** Once loaded: the engine's own account of the memory it took, beside the planner's estimate. */
      type: "instance-memory-checked";
      instanceId: InstanceId;
      model: ModelName;
      nodes: Array<{ node: NodeId; plannedBytes: number; reportedBytes: number }>;
    }
  | {
      /** A freshly loaded engine ran its warm-up generation before it was READY. */
      type: "instance-warmed-up";
      instanceId: InstanceId;
      model: ModelName;
      loadMs: number;
      warmupMs: number;
    }
  | { type: "model-imported"; model: ModelName }
  | { type: "model-removed"; model: ModelName }
  | { type: "engine-workaround-applied"; flag: string; reason: string }
  | {
      /** The entry that serves an alias changed (null: none), with why. */
      type: "alias-switched";
      alias: string;
      at: string;
      from: string | null;
      to: string | null;
      reason: string;
    }
  | {
      /**
       * A reply whose instance failed mid-way went on, on the node holding its client: `continued`
       * on an instance READY again, or `lost` (none in time, or a reply that cannot be continued).
       */
      type: "reply-continued" | "reply-lost";
      requestId: string | null;
      model: string;
      instanceId: string | null;
      /** The nodes the instance ran on that are gone; none when only its engine stopped. */
      lostNodes: string[];
      pauseMs: number;
      reason?: string;
    }
  | ClusterEvent;

/** Fails to compile when a switch over a union misses a case. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
