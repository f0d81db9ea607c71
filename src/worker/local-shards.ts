import type { Socket } from "node:net";
import { join } from "node:path";
import { RpcServerSupervisor } from "../engine/rpc-server-supervisor.js";
import type { EngineInstall } from "../protocol/engine.js";
import type { NodeId } from "../protocol/ids.js";
import { sleep } from "../util/backoff.js";
import type { Logger } from "../util/logger.js";
import type { LocalAction } from "./plan-local-actions.js";

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

/** Longest a shard outlives its instance while its head still holds connections to it. */
const retireGraceMs = 10_000;

/**
 * The ggml-rpc-servers this node runs for distributed instances headed elsewhere (and, for tensor
 * split, for its own share of instances it heads). Each listens on loopback only; other nodes reach
 * it through the cluster channel's tunnel.
 */
export class LocalShards {
  private readonly servers = new Map<string, RpcServerSupervisor>();
  /** Open tunnel connections per shard: a head's llama-server holds them while it runs. */
  private readonly connections = new Map<string, Set<Socket>>();
  /** Shards no longer wanted, kept until their head lets go. */
  private readonly retiring = new Map<RpcServerSupervisor, Promise<void>>();
  private disposing = false;

  constructor(private readonly options: LocalShardsOptions) {}

  /** The shards running here, by name. */
  names(): ReadonlySet<string> {
    return new Set(this.servers.keys());
  }

  /** Starts and stops RPC servers as `planLocalActions` decided (other actions are not theirs). */
  async carryOut(actions: readonly LocalAction[]): Promise<void> {
    for (const action of actions) {
      if (action.type !== "stop-shard") continue;
      const server = this.servers.get(action.name);
      if (!server) continue;
      this.servers.delete(action.name);
      this.retiring.set(
        server,
        this.retire(action.name, server).finally(() => this.retiring.delete(server)),
      );
    }
    const starts = actions.filter((action) => action.type === "start-shard");
    if (starts.length === 0) return;
    const engine = await this.options.engine();
    for (const { name, threads, transport } of starts) {
      if (this.servers.has(name)) continue;
      const server = new RpcServerSupervisor({
        name,
        engine,
        // Direct transport is for trusted fabrics (RDMA, Thunderbolt): the rpc-server listens on the
        // network itself, with no key in front of it, because the user asked for exactly that.
        host: transport === "direct" ? this.options.directHost : "127.0.0.1",
        threads,
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
  lookup(name: string): { host: string; port: number; track: (socket: Socket) => void } | undefined {
    const server = this.servers.get(name);
    const port = server?.port;
    if (port === undefined) return undefined;
    return { host: server!.host, port, track: (socket) => this.track(name, socket) };
  }

  private track(name: string, socket: Socket): void {
    let open = this.connections.get(name);
    if (!open) {
      open = new Set();
      this.connections.set(name, open);
    }
    open.add(socket);
    socket.once("close", () => {
      open.delete(socket);
      if (open.size === 0 && this.connections.get(name) === open) this.connections.delete(name);
    });
  }

  /**
   * Stops a shard that is no longer wanted once its head has let go of it. Every node learns of an
   * unload at about the same moment; a shard that went first would make the head's llama-server
   * abort on its way out (it asks its RPC servers for their memory as it exits), and an unload would
   * read as a crash in its log. The head closes its connections as it exits; a head that never does
   * (its machine is gone) is not waited for beyond `retireGraceMs`.
   */
  private async retire(name: string, server: RpcServerSupervisor): Promise<void> {
    const deadline = Date.now() + retireGraceMs;
    while ((this.connections.get(name)?.size ?? 0) > 0 && Date.now() < deadline && !this.disposing) {
      await sleep(100);
    }
    this.connections.delete(name);
    await server.dispose();
  }

  states(): Array<{ name: string; state: string }> {
    return [...this.servers].map(([name, server]) => ({ name, state: server.state }));
  }

  async dispose(): Promise<void> {
    this.disposing = true;
    const servers = [...this.servers.values()];
    this.servers.clear();
    await Promise.all(servers.map((server) => server.dispose()));
    await Promise.all(this.retiring.values());
  }

  killAllNow(): void {
    for (const server of [...this.servers.values(), ...this.retiring.keys()]) server.killNow();
  }
}
