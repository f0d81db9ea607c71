import { randomBytes, randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { NodeId } from "../protocol/ids.js";
import { readJsonFile, writeJsonAtomic } from "../util/json-file.js";

const IdentityFile = z.object({
  id: NodeId,
  name: z.string(),
  createdAt: z.string(),
  /** base64url of the 32-byte cluster key. */
  clusterKey: z.string(),
});
export type NodeIdentity = z.infer<typeof IdentityFile>;

/**
 * The node's persistent identity and cluster key, in `HERD_HOME/node.json` (mode 0600). Created on
 * first start; a restarted node keeps its id. `joinKey` (from a join token) replaces the stored key:
 * the node then belongs to that cluster.
 */
export async function loadNodeIdentity(
  home: string,
  options: { name?: string; joinKey?: Buffer } = {},
): Promise<NodeIdentity> {
  const path = join(home, "node.json");
  const existing = await readJsonFile(path, IdentityFile);
  const identity: NodeIdentity = existing ?? {
    id: NodeId.parse(randomUUID()),
    name: options.name ?? hostname(),
    createdAt: new Date().toISOString(),
    clusterKey: randomBytes(32).toString("base64url"),
  };
  const updated: NodeIdentity = {
    ...identity,
    name: options.name ?? identity.name,
    clusterKey: options.joinKey ? options.joinKey.toString("base64url") : identity.clusterKey,
  };
  if (!existing || JSON.stringify(updated) !== JSON.stringify(existing)) await writeJsonAtomic(path, updated);
  return updated;
}

export function clusterKeyBytes(identity: NodeIdentity): Buffer {
  return Buffer.from(identity.clusterKey, "base64url");
}
