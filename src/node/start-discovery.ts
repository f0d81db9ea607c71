import type { ClusterNode } from "../cluster/cluster-node.js";
import { clusterIdOf } from "../cluster/join-token.js";
import { LanDiscovery } from "../cluster/lan-discovery.js";
import { clusterKeyBytes } from "../cluster/node-identity.js";
import type { DisposeStack } from "../util/dispose-stack.js";
import type { NodeBasics } from "./prepare-node.js";

/**
 * Looks for the cluster's other nodes by LAN multicast, unless turned off. Discovery is a
 * convenience: without it (no UDP port), `--peers` and join tokens still work.
 */
export async function startDiscovery(
  { config, logger, identity }: NodeBasics,
  cluster: ClusterNode,
  stack: DisposeStack,
): Promise<void> {
  if (!config.discovery) return;
  const discovery = stack.use(
    "discovery",
    new LanDiscovery({
      clusterId: clusterIdOf(clusterKeyBytes(identity)),
      nodeId: identity.id,
      clusterPort: config.clusterPort,
      logger,
      onPeer: (endpoint) => cluster.want(endpoint),
    }),
  );
  await discovery.start().catch((error: unknown) => {
    logger.warn({ err: error }, "LAN discovery is off: cannot use its UDP port");
  });
}
