import type { DesiredChange, DesiredState } from "../protocol/cluster.js";
import { ConflictError, type HerdError, NotFoundError } from "../protocol/errors.js";
import { assertNever } from "../protocol/events.js";
import { applyAliasChange, refuseAliasChange } from "./aliases.js";

/** The desired state's content after `change` (the coordinator then gives it the next epoch). */
export function applyDesiredChange(
  previous: DesiredState,
  change: DesiredChange,
): Omit<DesiredState, "epoch" | "writtenBy"> {
  const { instances, upstreams, routes } = previous;
  switch (change.op) {
    case "add-instance":
      return { instances: [...instances, change.instance], upstreams, routes };
    case "update-instance":
      return {
        instances: instances.map((instance) =>
          instance.id === change.instance.id ? change.instance : instance,
        ),
        upstreams,
        routes,
      };
    case "remove-instances":
      return {
        instances: instances.filter(
          (instance) => instance.id !== change.match && instance.model !== change.match,
        ),
        upstreams,
        routes,
      };
    case "set-upstream":
      return {
        instances,
        upstreams: [
          ...upstreams.filter((upstream) => upstream.name !== change.upstream.name),
          change.upstream,
        ],
        routes,
      };
    case "remove-upstream":
      return { instances, upstreams: upstreams.filter((upstream) => upstream.name !== change.name), routes };
    case "set-routes": {
      const next = { ...routes };
      for (const [model, route] of Object.entries(change.routes)) {
        if (route === null) delete next[model];
        else next[model] = route;
      }
      return { instances, upstreams, routes: next };
    }
    case "set-alias":
    case "remove-alias":
    case "record-alias-switch":
      return { instances, upstreams, routes, aliases: applyAliasChange(previous, change) };
    default:
      return assertNever(change);
  }
}

/** Why `change` cannot be made to `state` (it names what is not there, or adds what is), if it cannot. */
export function refuseDesiredChange(state: DesiredState, change: DesiredChange): HerdError | undefined {
  const exists = (id: string) => state.instances.some((instance) => instance.id === id);
  switch (change.op) {
    case "add-instance":
      return exists(change.instance.id)
        ? new ConflictError(`instance ${change.instance.id} already exists`)
        : undefined;
    case "update-instance":
      return exists(change.instance.id)
        ? undefined
        : new NotFoundError(`instance ${change.instance.id} no longer exists`);
    case "remove-instances":
      return state.instances.some(
        (instance) => instance.id === change.match || instance.model === change.match,
      )
        ? undefined
        : new NotFoundError(`no instance of '${change.match}' is loaded`);
    case "remove-upstream":
      return state.upstreams.some((upstream) => upstream.name === change.name)
        ? undefined
        : new NotFoundError(`no upstream named '${change.name}'`);
    case "set-upstream":
    case "set-routes":
      return undefined;
    case "set-alias":
    case "remove-alias":
    case "record-alias-switch":
      return refuseAliasChange(state, change);
    default:
      return assertNever(change);
  }
}
