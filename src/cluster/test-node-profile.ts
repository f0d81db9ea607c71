import type { NodeProfile } from "../protocol/cluster.js";

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
