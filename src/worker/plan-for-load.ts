import type { ClusterView, PlacementBasis } from "../protocol/cluster.js";
import { InvalidRequestError } from "../protocol/errors.js";
import type { NodeId } from "../protocol/ids.js";
import type { ModelProfile } from "../protocol/model-profile.js";
import { planOnCluster, preferredHead, toInstancePlan } from "./cluster-planning.js";
import type { LoadRequest, PlanInstance } from "./local-instances.js";

/** The cluster, as far as planning a load needs it. */
export interface PlanningCluster {
  view(): ClusterView;
  nodesHolding(model: string): NodeId[];
}

/** The planner `LocalInstances` calls: it places a load over the cluster as seen from this node, which holds the files. */
export function planForLoad(selfId: NodeId, cluster: PlanningCluster): PlanInstance {
  return (model, spec, request, excluded, draft) => {
    const view = cluster.view();
    const basis = placementBasis(model, request, view, draft);
    // This node holds the files: loads and plans start from its own store. A head needs the
    // draft's file as well as the model's.
    const holders = [...new Set([selfId, ...cluster.nodesHolding(model.name)])].filter(
      (node) => !draft || node === selfId || cluster.nodesHolding(draft.name).includes(node),
    );
    const details = planOnCluster(
      view,
      basis,
      {
        ...basis,
        // Other replicas' nodes: a replica runs on nodes of its own.
        avoid: [...(basis.avoid ?? []), ...excluded],
        contextSize: spec.contextSize,
        parallel: spec.parallel,
      },
      holders,
      preferredHead(holders, excluded) ?? selfId,
    );
    return { plan: toInstancePlan(details, basis.rpcTransport, view), basis, details };
  };
}

/** What the planner needs to place (and later re-place) an instance; node names become ids. */
function placementBasis(
  model: ModelProfile,
  request: LoadRequest,
  view: ClusterView,
  draft?: ModelProfile,
): PlacementBasis {
  const resolve = (names: string[] | undefined, option: string) =>
    names?.map((name) => {
      const node = view.nodes.find((candidate) => candidate.name === name || candidate.id === name);
      if (!node)
        throw new InvalidRequestError(`no node named '${name}' in the cluster (see 'herd nodes')`, option);
      return node.id;
    });
  const placementModel = (profile: ModelProfile) => ({
    name: profile.name,
    sizeBytes: profile.sizeBytes,
    architecture: profile.architecture,
    layerCount: profile.layerCount,
    bytesPerLayer: profile.bytesPerLayer,
    nonLayerBytes: profile.nonLayerBytes,
    outputWeightBytes: profile.outputWeightBytes,
    feedForwardLength: profile.feedForwardLength,
    vocabularySize: profile.vocabulary?.size,
    kvBytesPerToken: profile.kvBytesPerToken,
    embeddingLength: profile.embeddingLength,
    expertCount: profile.expertCount,
    expertUsedCount: profile.expertUsedCount,
    expertBytesPerLayer: profile.expertBytesPerLayer,
  });
  return {
    model: placementModel(model),
    draft: draft ? placementModel(draft) : undefined,
    split: request.split ?? "auto",
    rpcTransport: request.rpcTransport ?? "auto",
    nodes: resolve(request.nodes, "nodes"),
    avoid: resolve(request.avoid, "avoid"),
    minNodes: request.minNodes,
    maxNodes: request.maxNodes,
  };
}
