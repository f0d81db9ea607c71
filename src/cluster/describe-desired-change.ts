import type { DesiredEvent, DesiredState, PlacedInstance } from "../protocol/cluster.js";
import type { DesiredStateEvent, InstanceMention } from "../protocol/cluster-events.js";
import { assertNever } from "../protocol/events.js";
import type { NodeId } from "../protocol/ids.js";

/**
 * `change` as `/herd/v1/events` and the log tell it, once it made `after` out of `before`: the
 * instances it names with their models and nodes, rather than the whole records it carries.
 * Undefined when `after` does not hold the instance the change names (it was not made to `before`).
 */
export function describeDesiredChange(
  change: DesiredEvent,
  before: DesiredState,
  after: DesiredState,
): DesiredStateEvent | undefined {
  const epoch = after.epoch;
  const find = (id: string) => after.instances.find((instance) => instance.id === id);
  switch (change.type) {
    case "instance-placed":
      return { type: change.type, epoch, ...placement(change.instance), cause: change.cause };
    case "instance-replanned": {
      const instance = find(change.instanceId);
      return (
        instance && {
          type: change.type,
          epoch,
          ...placement(instance),
          ...(change.reason === undefined ? {} : { reason: change.reason }),
        }
      );
    }
    case "instance-suspended": {
      const instance = find(change.instanceId);
      return instance && { type: change.type, epoch, ...mention(instance), reason: change.reason };
    }
    case "drain-started":
      return {
        type: change.type,
        epoch,
        instances: after.instances
          .filter((instance) => change.instanceIds.includes(instance.id))
          .map(mention),
        since: change.since,
      };
    case "instances-removed": {
      const left = new Set(after.instances.map((instance) => instance.id));
      return {
        type: change.type,
        epoch,
        instances: before.instances.filter((instance) => !left.has(instance.id)).map(mention),
        reason: change.reason,
      };
    }
    case "upstream-registered":
      return {
        type: change.type,
        epoch,
        name: change.upstream.name,
        url: change.upstream.url,
        models: change.upstream.models.map((model) => model.name),
      };
    case "upstream-removed":
      return { type: change.type, epoch, name: change.name };
    case "routes-set":
      return { type: change.type, epoch, routes: change.routes };
    case "alias-set":
      return {
        type: change.type,
        epoch,
        name: change.alias.name,
        chain: change.alias.chain,
        keepLoaded: change.alias.keepLoaded,
      };
    case "alias-removed":
      return { type: change.type, epoch, name: change.name };
    case "alias-switch-recorded":
      // The coordinator's alias keeper publishes the switch itself (`alias-switched`, with its reason).
      return undefined;
    default:
      return assertNever(change);
  }
}

function mention(instance: PlacedInstance): InstanceMention {
  return { instanceId: instance.id, model: instance.model };
}

function placement(instance: PlacedInstance): InstanceMention & { head: NodeId; nodes: NodeId[] } {
  const shards = instance.plan?.shards.map((shard) => shard.node) ?? [];
  return {
    ...mention(instance),
    head: instance.node,
    nodes: [instance.node, ...shards.filter((node) => node !== instance.node)],
  };
}
