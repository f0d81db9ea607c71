import { NotFoundError } from "../../protocol/errors.js";
import type { NodeId } from "../../protocol/ids.js";
import type { ApiDependencies } from "../api-dependencies.js";

/** The node a `node` parameter names: exact name or id first, then a unique id prefix. */
export function resolveNode(dependencies: ApiDependencies, wanted: string): NodeId {
  const nodes = dependencies.cluster.view().nodes;
  const exact = nodes.find((node) => node.name === wanted || node.id === wanted);
  if (exact) return exact.id;
  const byPrefix = nodes.filter((node) => node.id.startsWith(wanted));
  if (byPrefix.length === 1) return byPrefix[0]!.id;
  throw new NotFoundError(`no node named '${wanted}' in the cluster (see 'herd nodes')`);
}
