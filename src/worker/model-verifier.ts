import type { Readable } from "node:stream";
import { openChannelStream } from "../cluster/channel-stream.js";
import type { ClusterNode } from "../cluster/cluster-node.js";
import { clusterKeyBytes, type NodeIdentity } from "../cluster/node-identity.js";
import type { ModelStore } from "../models/model-store.js";
import { verifyModels } from "../models/verify-models.js";
import { HerdError } from "../protocol/errors.js";
import type { NodeId } from "../protocol/ids.js";
import type { VerifyProgress, VerifyReport } from "../protocol/management.js";

/** Re-hashes stored models here, or asks another node to over the cluster channel (`herd models verify`). */
export function modelVerifier(options: {
  identity: NodeIdentity;
  cluster: Pick<ClusterNode, "view">;
  models: ModelStore;
  /** Reads the store's verdicts again, so a corrupt copy stops being announced at once. */
  onVerified: () => Promise<void>;
}) {
  const { identity, cluster, models } = options;
  return {
    here: async (
      names: string[] | undefined,
      onProgress: (progress: VerifyProgress) => void,
      signal: AbortSignal,
    ): Promise<VerifyReport> => {
      const results = await verifyModels(models, names, { signal, onProgress });
      await options.onVerified();
      return { node: identity.name, results };
    },
    onNode: async (
      node: NodeId,
      names: string[] | undefined,
      signal: AbortSignal,
    ): Promise<{ status: number; contentType: string; body: Readable }> => {
      const member = cluster.view().nodes.find((candidate) => candidate.id === node)!;
      const response = await openChannelStream({
        endpoints: member.endpoints,
        path: "/cluster/v1/api/herd/v1/models/verify",
        body: { models: names },
        key: clusterKeyBytes(identity),
        selfId: identity.id,
        signal,
      }).catch((error: Error) => {
        throw new HerdError(`cannot reach node ${member.name} to verify its models: ${error.message}`);
      });
      return {
        status: response.statusCode ?? 502,
        contentType: response.headers["content-type"] ?? "application/x-ndjson",
        body: response,
      };
    },
  };
}
