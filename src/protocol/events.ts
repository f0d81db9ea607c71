import type { ClusterEvent } from "./cluster-events.js";
import type { InstanceId, ModelName } from "./ids.js";
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
  | { type: "model-imported"; model: ModelName }
  | { type: "model-removed"; model: ModelName }
  | { type: "engine-workaround-applied"; flag: string; reason: string }
  | ClusterEvent;

/** Fails to compile when a switch over a union misses a case. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
