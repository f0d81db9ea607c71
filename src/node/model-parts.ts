import { AnnouncedModels } from "../models/announced-models.js";
import { HubClient } from "../models/hub-client.js";
import { ModelStore } from "../models/model-store.js";
import { ModelPuller } from "../models/pull-model.js";
import type { DisposeStack } from "../util/dispose-stack.js";
import type { NodeBasics } from "./prepare-node.js";

/** The node's models: its store, the hub it pulls from, and the names it announces. */
export interface ModelParts {
  models: ModelStore;
  hub: HubClient;
  puller: ModelPuller;
  announced: AnnouncedModels;
}

/** Opens the model store and starts following it on disk. */
export async function createModelParts(
  { config, paths, logger }: NodeBasics,
  stack: DisposeStack,
): Promise<ModelParts> {
  const models = new ModelStore(paths.models);
  const hub = new HubClient(config.hub);
  const puller = new ModelPuller({ store: models, hub, logger, offline: config.hub.offline });
  const announced = new AnnouncedModels(models);
  await announced.refresh();
  announced.follow((error) => logger.warn({ err: error }, "cannot follow the model store for changes"));
  stack.defer("model store watch", () => announced.dispose());
  return { models, hub, puller, announced };
}
