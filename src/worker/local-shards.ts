import { join } from "node:path";
import { RpcServerSupervisor } from "../engine/rpc-server-supervisor.js";
import type { DesiredState } from "../protocol/cluster.js";
import type { EngineInstall } from "../protocol/engine.js";
import type { NodeId } from "../protocol/ids.js";
import type { Logger } from "../util/logger.js";

export interface LocalShardsOptions {
  nodeId: NodeId;
  engine: () => Promise<EngineInstall>;
  home: string;
  logDirectory: string;
  runDirectory: string;
  logger: Logger;
  parentDeathWrapper?: string[];
  /** Called when a shard's RPC server changes state. */
  onChange: () => void;
  /** This node's address on the cluster network, where `--rpc-transport direct` shards listen. */
  directHost: string;
}

/** The RPC server name of one shard of an instance; tunnels ask for it by this name. */
export function shardName(instanceId: string, shardIndex: number): string {
  return `${instanceId}-s${shardIndex}`;
}

/**
 * The ggml-rpc-servers this node runs for distributed instances headed elsewhere (and, for tensor
 * split, for its own share of instances it heads). Each listens on loopback only; other nodes reach
 * it through the cluster channel's tunnel.
 */
export class LocalShards {
  private readonly servers = new Map<string, RpcServerSupervisor>();

  constructor(private readonly options: LocalShardsOptions) {}

  async reconcile(state: DesiredState): Promise<void> {
    const wanted = new Map<string, { threads?: number; host: string }>();
    for (const instance of state.instances) {
      if (!instance.plan || instance.suspended !== undefined) continue;
      instance.plan.rpcNodes.forEach((node, index) => {
        if (node !== this.options.nodeId) return;
        // Direct transport is for trusted fabrics (RDMA, Thunderbolt): the rpc-server listens on the
        // network itself, with no key in front of it, because the user asked for exactly that.
        const host = instance.plan!.rpcTransport === "direct" ? this.options.directHost : "127.0.0.1";
        wanted.set(shardName(instance.id, index), { threads: instance.threads, host });
      });
    }
    for (const [name, server] of [...this.servers]) {
      if (wanted.has(name)) continue;
      this.servers.delete(name);
      await server.dispose();
    }
    if (wanted.size === 0) return;
    const engine = await this.options.engine();
    for (const [name, settings] of wanted) {
      if (this.servers.has(name)) continue;
      const server = new RpcServerSupervisor({
        name,
        engine,
        host: settings.host,
        threads: settings.threads,
        cacheDirectory: join(this.options.home, "cache"),
        logDirectory: this.options.logDirectory,
        runDirectory: this.options.runDirectory,
        parentDeathWrapper: this.options.parentDeathWrapper,
        logger: this.options.logger,
        onState: (shardState, reason) => {
          this.options.logger.info(
            { shard: name, state: shardState },
            `rpc shard ${name}: ${shardState} (${reason})`,
          );
          this.options.onChange();
        },
      });
      this.servers.set(name, server);
      server.start();
    }
  }

  /** Where a shard's RPC server listens, when it is READY. */
  lookup(name: string): { host: string; port: number } | undefined {
    const server = this.servers.get(name);
    const port = server?.port;
    return port === undefined ? undefined : { host: server!.host, port };
  }

  states(): Array<{ name: string; state: string }> {
    return [...this.servers].map(([name, server]) => ({ name, state: server.state }));
  }

  async dispose(): Promise<void> {
    const servers = [...this.servers.values()];
    this.servers.clear();
    await Promise.all(servers.map((server) => server.dispose()));
  }

  killAllNow(): void {
    for (const server of this.servers.values()) server.killNow();
  }
}
