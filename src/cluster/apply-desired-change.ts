import type { DesiredChange, DesiredState } from "../protocol/cluster.js";
import { assertNever } from "../protocol/events.js";

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
    default:
      return assertNever(change);
  }
}
