import { AliasKeeper } from "../worker/alias-keeper.js";
import type { LocalInstances } from "../worker/local-instances.js";
import type { ClusterPart } from "./cluster-part.js";
import type { ModelParts } from "./model-parts.js";
import type { NodeEvents } from "./node-events.js";
import type { NodeBasics } from "./prepare-node.js";

/**
 * The coordinator's keeper of keep-loaded aliases: it follows the node's state, loads the best
 * entry of each chain that fits, and drains fallbacks once it is READY.
 */
export function createAliasKeeper(parts: {
  basics: NodeBasics;
  events: NodeEvents;
  modelParts: ModelParts;
  clusterPart: ClusterPart;
  instances: LocalInstances;
}): AliasKeeper {
  const { basics, events, modelParts, clusterPart, instances } = parts;
  return new AliasKeeper({
    cluster: clusterPart.cluster,
    onChange: (listener) => clusterPart.store.subscribe(listener),
    profile: (model) => modelParts.models.get(model),
    plan: (profile) => void instances.dryRunFor(profile, { model: profile.name }),
    load: (model) => instances.load({ model }),
    drain: (instanceId) => instances.drain({ instance: instanceId }),
    publish: events.publish,
    logger: basics.logger,
  });
}
