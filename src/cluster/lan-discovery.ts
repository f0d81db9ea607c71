import { createSocket, type Socket } from "node:dgram";
import { networkInterfaces } from "node:os";
import { z } from "zod";
import type { NodeId } from "../protocol/ids.js";
import type { Logger } from "../util/logger.js";

/** The multicast group and port herd beacons use (organization-local scope, never routed beyond the LAN). */
export const discoveryGroup = "239.255.77.77";
export const defaultDiscoveryPort = 52417;

const Beacon = z.object({
  herd: z.literal(1),
  cluster: z.string().max(64),
  node: z.string().max(64),
  port: z.number().int(),
});

export interface LanDiscoveryOptions {
  /** The public cluster id (see `clusterIdOf`): beacons of other clusters are ignored. */
  clusterId: string;
  nodeId: NodeId;
  clusterPort: number;
  port?: number;
  intervalMs?: number;
  logger: Logger;
  /** A node of this cluster announced itself at `host:port`. */
  onPeer: (endpoint: string) => void;
}

/**
 * Zero-configuration discovery on a LAN: every node multicasts a small beacon (cluster id, node id,
 * cluster port) every few seconds on each of its interfaces, with TTL 1, and dials the senders of
 * beacons of its own cluster. A beacon only says where a candidate is: joining still takes the key,
 * which the cluster channel's TLS handshake checks.
 */
export class LanDiscovery {
  private socket: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly seen = new Set<string>();

  constructor(private readonly options: LanDiscoveryOptions) {}

  async start(): Promise<void> {
    const socket = createSocket({ type: "udp4", reuseAddr: true });
    this.socket = socket;
    socket.on("message", (data, remote) => this.receive(data, remote.address));
    socket.on("error", (error) => this.options.logger.warn({ err: error }, "LAN discovery socket error"));
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(this.options.port ?? defaultDiscoveryPort, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    socket.setMulticastTTL(1);
    socket.setMulticastLoopback(true);
    for (const address of lanAddresses()) {
      try {
        socket.addMembership(discoveryGroup, address);
      } catch (error) {
        this.options.logger.debug(
          { address, err: error },
          "cannot join the discovery group on this interface",
        );
      }
    }
    this.announce();
    this.timer = setInterval(() => this.announce(), this.options.intervalMs ?? 2000);
    this.timer.unref();
  }

  dispose(): void {
    clearInterval(this.timer);
    this.socket?.close();
    this.socket = undefined;
  }

  private announce(): void {
    const socket = this.socket;
    if (!socket) return;
    const beacon = Buffer.from(
      JSON.stringify({
        herd: 1,
        cluster: this.options.clusterId,
        node: this.options.nodeId,
        port: this.options.clusterPort,
      }),
    );
    // One send per interface: a multicast datagram leaves through one interface only.
    for (const address of lanAddresses()) {
      try {
        socket.setMulticastInterface(address);
        socket.send(beacon, this.options.port ?? defaultDiscoveryPort, discoveryGroup);
      } catch (error) {
        this.options.logger.debug(
          { address, err: error },
          "cannot send a discovery beacon on this interface",
        );
      }
    }
  }

  private receive(data: Buffer, from: string): void {
    let beacon: z.infer<typeof Beacon>;
    try {
      beacon = Beacon.parse(JSON.parse(data.toString("utf8")));
    } catch {
      // Not a herd beacon (something else uses the group): ignore it, as multicast neighbours do.
      return;
    }
    if (beacon.cluster !== this.options.clusterId || beacon.node === this.options.nodeId) return;
    const endpoint = `${from}:${beacon.port}`;
    if (!this.seen.has(endpoint)) {
      this.seen.add(endpoint);
      this.options.logger.info(
        { endpoint, node: beacon.node },
        "discovered a node of this cluster on the LAN",
      );
    }
    this.options.onPeer(endpoint);
  }
}

/** IPv4 addresses of interfaces that can carry multicast to other machines. */
function lanAddresses(): string[] {
  const addresses: string[] = [];
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? [])
      if (entry.family === "IPv4" && !entry.internal) addresses.push(entry.address);
  }
  return addresses;
}
