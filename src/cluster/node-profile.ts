import { arch, cpus, freemem, networkInterfaces, platform, release, totalmem } from "node:os";
import type { NodeCalibration } from "../protocol/calibration.js";
import type { NodeProfile } from "../protocol/cluster.js";
import type { EngineInstall } from "../protocol/engine.js";
import type { NodeHealthFacts } from "../protocol/health.js";
import type { NetworkInterface } from "../protocol/network-interface.js";

export interface ProfileInputs {
  engine: EngineInstall | null;
  /** Whether the engine's RPC was built with the RDMA transport. Default false. */
  engineRdma?: boolean;
  /** Accelerators as llama-server lists them; the CPU is always added. */
  engineDevices: string[];
  /** Advertise at most this much memory (`--memory-limit`). */
  memoryLimitBytes?: number;
  apiPort: number;
  clusterPort: number;
  herdVersion: string;
  /** What `herd health` checks on this node. */
  health?: NodeHealthFacts;
  /** The machine's network interfaces, once read. */
  interfaces?: NetworkInterface[];
  /** What the node measured of itself and learnt (see NodeCalibrator). */
  calibration?: NodeCalibration;
}

/** Describes this machine for its peers; cheap enough to call every few seconds. */
export function collectNodeProfile(inputs: ProfileInputs): NodeProfile {
  const machineMemory = totalmem();
  const limit = inputs.memoryLimitBytes;
  const memoryTotal = limit !== undefined ? Math.min(limit, machineMemory) : machineMemory;
  const processors = cpus();
  const cpuModel = processors[0]?.model.trim() ?? "unknown CPU";
  return {
    os: `${platform()} ${release()}`,
    platform: platform(),
    arch: arch(),
    cpuModel,
    cpuCores: processors.length,
    memoryTotalBytes: memoryTotal,
    memoryAvailableBytes: Math.min(freemem(), memoryTotal),
    machineMemoryBytes: machineMemory,
    memoryLimited: limit !== undefined,
    devices: [
      { name: "CPU", description: `${cpuModel}, ${processors.length} cores` },
      ...inputs.engineDevices.map((line) => {
        const [name, ...rest] = line.split(":");
        return { name: name!.trim(), description: rest.join(":").trim() || line };
      }),
    ],
    engine: inputs.engine
      ? {
          version: inputs.engine.version,
          backend: inputs.engine.backend,
          rpc: true,
          rdma: inputs.engineRdma ?? false,
        }
      : null,
    addresses: reachableAddresses(),
    ...(inputs.interfaces ? { interfaces: inputs.interfaces } : {}),
    apiPort: inputs.apiPort,
    clusterPort: inputs.clusterPort,
    herdVersion: inputs.herdVersion,
    health: inputs.health,
    ...(inputs.calibration && { calibration: inputs.calibration }),
  };
}

/** Non-internal IPv4 and IPv6 addresses of this machine. */
export function reachableAddresses(): string[] {
  const addresses: string[] = [];
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (!entry.internal && !(entry.family === "IPv6" && entry.address.startsWith("fe80")))
        addresses.push(entry.address);
    }
  }
  return addresses;
}
