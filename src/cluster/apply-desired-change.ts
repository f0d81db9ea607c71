import type { DesiredEvent, DesiredState, PlacedInstance } from "../protocol/cluster.js";
import { ConflictError, type HerdError, NotFoundError } from "../protocol/errors.js";
import { assertNever } from "../protocol/events.js";
import { applyAliasChange, refuseAliasChange } from "./aliases.js";

/** The content of a desired state, without the epoch and writer the coordinator gives it. */
export type DesiredContent = Omit<DesiredState, "epoch" | "writtenBy">;

/**
 * The desired state's content after `event` (the coordinator then gives it the next epoch). What
 * the event does not change is returned as it was (the same arrays), so a change that changes
 * nothing, such as a drain of instances already draining, can be told apart.
 */
export function applyDesiredChange(previous: DesiredState, event: DesiredEvent): DesiredContent {
  const { instances, upstreams, routes } = previous;
  const updated = (id: string, update: (instance: PlacedInstance) => PlacedInstance) =>
    instances.map((instance) => (instance.id === id ? update(instance) : instance));
  switch (event.type) {
    case "instance-placed":
      return { instances: [...instances, event.instance], upstreams, routes };
    case "instance-replanned":
      return {
        instances: updated(event.instanceId, (instance) => ({
          ...instance,
          node: event.node,
          plan: event.plan,
          suspended: undefined,
        })),
        upstreams,
        routes,
      };
    case "instance-suspended":
      return {
        instances: updated(event.instanceId, (instance) => ({ ...instance, suspended: event.reason })),
        upstreams,
        routes,
      };
    case "drain-started": {
      const starting = (instance: PlacedInstance) =>
        event.instanceIds.includes(instance.id) && instance.draining === undefined;
      // An instance already draining keeps the time its drain started.
      if (!instances.some(starting)) return { instances, upstreams, routes };
      return {
        instances: instances.map((instance) =>
          starting(instance) ? { ...instance, draining: event.since } : instance,
        ),
        upstreams,
        routes,
      };
    }
    case "instances-removed":
      return {
        instances: instances.filter((instance) => !matches(instance, event.match)),
        upstreams,
        routes,
      };
    case "upstream-registered":
      return {
        instances,
        upstreams: [...upstreams.filter((upstream) => upstream.name !== event.upstream.name), event.upstream],
        routes,
      };
    case "upstream-removed":
      return { instances, upstreams: upstreams.filter((upstream) => upstream.name !== event.name), routes };
    case "routes-set": {
      const next = { ...routes };
      for (const [model, route] of Object.entries(event.routes)) {
        if (route === null) delete next[model];
        else next[model] = route;
      }
      return { instances, upstreams, routes: next };
    }
    case "alias-set":
    case "alias-removed":
    case "alias-switch-recorded":
      return { instances, upstreams, routes, aliases: applyAliasChange(previous, event) };
    default:
      return assertNever(event);
  }
}

/**
 * Why `event` cannot be applied to `state`, if it cannot: it names an instance or upstream that is
 * not there, adds an instance whose id is taken, or loads a model that is already loaded.
 */
export function refuseDesiredChange(state: DesiredState, event: DesiredEvent): HerdError | undefined {
  const missing = (id: string) =>
    state.instances.some((instance) => instance.id === id)
      ? undefined
      : new NotFoundError(`instance ${id} no longer exists`);
  switch (event.type) {
    case "instance-placed": {
      const { id, model } = event.instance;
      if (state.instances.some((instance) => instance.id === id))
        return new ConflictError(`instance ${id} already exists`);
      // Two loads of one model from two nodes at once: the coordinator takes the first.
      if (event.cause === "load" && state.instances.some((instance) => instance.model === model))
        return new ConflictError(
          `model '${model}' is already loaded; unload it first to change its settings`,
        );
      return undefined;
    }
    case "instance-replanned":
    case "instance-suspended":
      return missing(event.instanceId);
    case "drain-started":
      return event.instanceIds.map(missing).find((refusal) => refusal !== undefined);
    case "instances-removed":
      return state.instances.some((instance) => matches(instance, event.match))
        ? undefined
        : new NotFoundError(`no instance of '${event.match}' is loaded`);
    case "upstream-removed":
      return state.upstreams.some((upstream) => upstream.name === event.name)
        ? undefined
        : new NotFoundError(`no upstream named '${event.name}'`);
    case "upstream-registered":
    case "routes-set":
      return undefined;
    case "alias-set":
    case "alias-removed":
    case "alias-switch-recorded":
      return refuseAliasChange(state, event);
    default:
      return assertNever(event);
  }
}

/** Whether `match` names the instance: its id or its model. */
function matches(instance: PlacedInstance, match: string): boolean {
  return instance.id === match || instance.model === match;
}
