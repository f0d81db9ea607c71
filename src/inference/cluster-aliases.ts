import { findAlias } from "../cluster/aliases.js";
import { parseAliasEntry } from "../protocol/aliases.js";
import type { DesiredState } from "../protocol/cluster.js";
import { type RequestPolicy, strictestPolicy } from "../protocol/upstream.js";
import { type AliasResolution, resolveAlias } from "./resolve-alias.js";

/** The router's view of the aliases in the cluster's desired state. */
export interface AliasDirectory {
  /** The entry a request for `name` goes to now, when `name` is an alias; undefined for any other name. */
  resolve(
    name: string,
    options: { localOnly?: boolean; policy?: RequestPolicy },
  ): AliasResolution | undefined;
  /**
   * Whether a request for the alias that finds no entry READY should wait: one of its models is
   * placed and not suspended, so it is loading, or being placed again after a node left.
   */
  switching(name: string): boolean;
}

/**
 * Aliases as the desired state holds them. A request another node forwarded (`localOnly`) is served
 * here or not at all, so it counts only this node's instances and never an upstream.
 */
export function clusterAliases(options: {
  desired: () => DesiredState;
  /** Whether a model has an instance that takes requests: here, or (unless `localOnly`) on a live node. */
  isReady: (model: string, localOnly: boolean) => boolean;
}): AliasDirectory {
  return {
    resolve(name, request) {
      const desired = options.desired();
      const alias = findAlias(desired, name);
      if (!alias) return undefined;
      const localOnly = request.localOnly === true;
      return resolveAlias({
        alias,
        isReady: (model) => options.isReady(model, localOnly),
        upstreams: desired.upstreams,
        policy: strictestPolicy(request.policy, localOnly ? "local-only" : undefined),
      });
    },
    switching(name) {
      const desired = options.desired();
      const alias = findAlias(desired, name);
      if (!alias) return false;
      const models = alias.chain
        .map(parseAliasEntry)
        .flatMap((entry) => (entry.kind === "model" ? [entry.model] : []));
      return desired.instances.some(
        (instance) => models.includes(instance.model) && !instance.suspended && !instance.draining,
      );
    },
  };
}
