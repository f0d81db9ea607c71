import type { ClusterView, NodeProfile } from "../protocol/cluster.js";
import type { NodeId } from "../protocol/ids.js";

/** A small Linux machine's profile for cluster tests; `overrides` set what a test is about. */
export function testNodeProfile(overrides: Partial<NodeProfile> = {}): NodeProfile {
  return {
    os: "linux",
    platform: "linux",
    arch: "x64",
    cpuModel: "cpu",
    cpuCores: 2,
    memoryTotalBytes: 1e9,
    memoryAvailableBytes: 5e8,
    machineMemoryBytes: 1e9,
    memoryLimited: false,
    devices: [],
    engine: null,
    addresses: [],
    apiPort: 52415,
    clusterPort: 52416,
    herdVersion: "0.1.0",
    ...overrides,
  };
}

/** A live member as `GET /herd/v1/cluster` lists it, with `testNodeProfile(profile)`. */
export function testViewNode(
  id: NodeId,
  name: string,
  profile: Partial<NodeProfile> = {},
): ClusterView["nodes"][number] {
  return {
    id,
    name,
    state: "alive",
    role: "member",
    joinedAt: 0,
    lastSeenMsAgo: 0,
    endpoints: [],
    profile: testNodeProfile(profile),
  };
}
