import type { PlacementModel, PlacementRequest, Plan } from "../placement/placement-types.js";
import { planPlacement } from "../placement/plan-placement.js";
import { placementNodeFromProfile } from "../placement/resolve-nodes.js";
import type { ClusterView, InstancePlan, PlacementBasis } from "../protocol/cluster.js";
import { ConflictError } from "../protocol/errors.js";
import type { NodeId } from "../protocol/ids.js";
import type { RpcTransport } from "../protocol/instance-plan.js";
import { chooseRpcRoutes, plannedRoutes } from "./choose-rpc-routes.js";

export interface PlanningRequest {
  contextSize: number;
  parallel: number;
  split: "auto" | "layer" | "tensor";
  nodes?: NodeId[];
  avoid?: NodeId[];
  minNodes?: number;
  maxNodes?: number;
  /** The draft model the head also holds (speculative decoding). */
  draft?: PlacementModel;
}

/**
 * Plans an instance over the live nodes of the cluster as `view` shows them. The head needs the
 * model file (shards need none: llama.cpp sends them their tensors). When a node that may be used
 * holds it, only holders may head; when none of the usable nodes does but some live node holds it,
 * any usable node may head and copies the file from a holder before it starts. `preferredHead` wins
 * among equally fast plans. Throws NoPlacementError when nothing fits.
 */
export function planOnCluster(
  view: ClusterView,
  basis: PlacementBasis,
  request: PlanningRequest,
  holders: NodeId[],
  preferredHead: NodeId,
): Plan {
  const nodes = view.nodes
    .filter((node) => node.state === "alive" && node.profile !== null)
    .map((node) => placementNodeFromProfile(node.id, node.name, node.profile!));
  const usable = nodes
    .map((node) => node.id)
    .filter(
      (id) => (request.nodes === undefined || request.nodes.includes(id)) && !request.avoid?.includes(id),
    );
  const copyable = holders.length > 0 && !holders.some((holder) => usable.includes(holder));
  const placementRequest: PlacementRequest = {
    ...request,
    head: preferredHead,
    allowedHeads: copyable ? undefined : holders,
  };
  const plan = planPlacement({
    model: basis.model,
    request: placementRequest,
    cluster: {
      nodes,
      links: view.links,
      now: Date.now(),
      routeOf: plannedRoutes(basis.rpcTransport, view),
    },
  });
  if (!copyable && !holders.includes(plan.head)) {
    const name = view.nodes.find((node) => node.id === plan.head)?.name ?? plan.head;
    throw new ConflictError(
      `the best plan runs '${basis.model.name}' headed on ${name}, which does not hold the model file; import it there too, or pin the nodes with --nodes`,
    );
  }
  return plan;
}

/**
 * The node to prefer as an instance's head among those holding its files: `current` while it still
 * does (a recovery does not move a head that is fine), else the first not in `avoid` (the nodes of
 * other replicas), else the first.
 */
export function preferredHead(
  holders: readonly NodeId[],
  avoid: readonly NodeId[],
  current?: NodeId,
): NodeId | undefined {
  if (current !== undefined && holders.includes(current)) return current;
  return holders.find((node) => !avoid.includes(node)) ?? holders[0];
}

/** The part of a plan the desired state keeps, with how the head reaches each shard (`chooseRpcRoutes`). */
export function toInstancePlan(
  plan: Plan,
  transport: RpcTransport,
  view: Pick<ClusterView, "nodes" | "links">,
): InstancePlan {
  return {
    head: plan.head,
    splitMode: plan.splitMode,
    shards: plan.shards.map((shard) => ({
      node: shard.node,
      layerStart: shard.layerStart,
      layerEnd: shard.layerEnd,
      fraction: shard.fraction,
      plannedBytes: shard.weightBytes + shard.kvBytes + shard.computeBytes,
      totalBytes: shard.totalBytes,
    })),
    rpcNodes: plan.rpcNodes,
    tensorSplit: plan.tensorSplit,
    gpuLayers: plan.gpuLayers,
    ...(plan.outputOnHead && { outputOnHead: true }),
    ...chooseRpcRoutes(plan.head, plan.rpcNodes, transport, view),
    predictedDecodeTokensPerSecond: plan.predicted.decodeTokensPerSecond,
    predictedHeadSeconds: plan.predicted.headSeconds,
    uncorrectedHeadSeconds: plan.predicted.uncorrectedHeadSeconds,
    uncorrectedRemoteSeconds: plan.predicted.uncorrectedRemoteSeconds,
  };
}
