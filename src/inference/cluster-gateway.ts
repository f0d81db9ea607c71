import type { DesiredState } from "../protocol/cluster.js";
import type { Gateway } from "./router.js";

/**
 * The router's view of the upstreams and routes in the cluster's desired state. A model that an
 * upstream lists and that has no route of its own overflows there (`local-then-upstream`); any other
 * model stays in the cluster. Keys are read from this node's environment when a request needs one.
 */
export function clusterGateway(
  desired: () => DesiredState,
  environment: NodeJS.ProcessEnv = process.env,
): Gateway {
  const upstreamsFor = (model: string) =>
    desired().upstreams.filter((upstream) => upstream.models.some((entry) => entry.name === model));
  return {
    upstreamsFor,
    routeOf: (model) =>
      desired().routes[model] ?? (upstreamsFor(model).length > 0 ? "local-then-upstream" : "local-only"),
    keyOf: (upstream) => (upstream.keyEnv ? environment[upstream.keyEnv] : undefined),
    upstreamModels: () => {
      const seen = new Map<string, string>();
      for (const upstream of desired().upstreams)
        for (const entry of upstream.models) if (!seen.has(entry.name)) seen.set(entry.name, upstream.name);
      return [...seen].map(([name, upstream]) => ({ name, upstream }));
    },
  };
}
