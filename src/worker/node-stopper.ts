import { channelRequest } from "../cluster/channel-request.js";
import type { ClusterNode } from "../cluster/cluster-node.js";
import { clusterKeyBytes, type NodeIdentity } from "../cluster/node-identity.js";
import { HerdError } from "../protocol/errors.js";
import type { NodeId } from "../protocol/ids.js";
import type { StopReport } from "../protocol/management.js";
import type { Logger } from "../util/logger.js";
import type { LocalInstances } from "./local-instances.js";
import { moveInstancesOff } from "./move-instances-off.js";

/** Stops this node's process (`herd stop`, moving its instances first with `drain`), or asks another node to stop. */
export function nodeStopper(options: {
  identity: NodeIdentity;
  cluster: Pick<ClusterNode, "view" | "desiredState" | "nodesHolding" | "changeDesired">;
  instances: Pick<LocalInstances, "drain" | "waitUntilReady" | "waitUntilRemoved">;
  logger: Logger;
  /** Stops the process the way Ctrl-C does. */
  onStopRequested: () => void;
}) {
  const { identity, cluster, instances, logger } = options;
  return {
    here: async ({ drain }: { drain: boolean }, signal: AbortSignal): Promise<StopReport> => {
      const moved = drain
        ? await moveInstancesOff(identity.id, {
            view: () => cluster.view(),
            desired: () => cluster.desiredState,
            holdersOf: (model) => cluster.nodesHolding(model),
            add: async (instance) =>
              void (await cluster.changeDesired({ type: "instance-placed", instance, cause: "move" })),
            drain: async (instanceId) => void (await instances.drain({ instance: instanceId })),
            waitUntilReady: (ids, waitSignal) => instances.waitUntilReady(ids, waitSignal),
            waitUntilRemoved: (ids, waitSignal) => instances.waitUntilRemoved(ids, waitSignal),
            signal,
          })
        : [];
      logger.info({ moved: moved.map((move) => move.to.id) }, "stopping: herd stop was asked for");
      // After the answer has left: the process exits as with Ctrl-C.
      setTimeout(() => options.onStopRequested(), 100);
      const name = (id: string) => cluster.view().nodes.find((node) => node.id === id)?.name ?? id;
      return {
        node: identity.name,
        moved: moved.map((move) => ({
          model: move.from.model,
          from: move.from.id,
          to: move.to.id,
          head: name(move.to.node),
        })),
      };
    },
    onNode: async (
      node: NodeId,
      { drain }: { drain: boolean },
    ): Promise<{ status: number; body: string }> => {
      const member = cluster.view().nodes.find((candidate) => candidate.id === node)!;
      const answer = await channelRequest({
        endpoints: member.endpoints,
        method: "POST",
        path: "/cluster/v1/api/herd/v1/node/stop",
        body: { drain },
        key: clusterKeyBytes(identity),
        selfId: identity.id,
        // A drain waits for replacements to load.
        timeoutMs: drain ? 16 * 60_000 : 10_000,
      }).catch((error: Error) => {
        throw new HerdError(`cannot reach node ${member.name} to stop it: ${error.message}`);
      });
      return { status: answer.status, body: answer.body };
    },
  };
}
