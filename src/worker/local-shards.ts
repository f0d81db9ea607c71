import type { Socket } from "node:net";
import { join } from "node:path";
import type { NodeStore } from "../cluster/node-state.js";
import { describeRpcTransport, foldRpcLogLine, initialRpcLogState } from "../engine/read-rpc-transport.js";
import { RpcServerSupervisor } from "../engine/rpc-server-supervisor.js";
import type { EngineInstall } from "../protocol/engine.js";
import type { NodeId } from "../protocol/ids.js";
import { abortAfter } from "../util/abort-after.js";
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
  /** The node's state: each shard's start, readiness and stop, and the connections to it, go there. */
  store: NodeStore;
  /** This node's address on the cluster network, where `--rpc-transport direct` shards listen. */
  directHost: string;
  /** Threads for a shard whose instance names none (`--engine-threads`); default llama.cpp's. */
  engineThreads?: number;
}

/** Longest a shard outlives its instance while its head still holds connections to it. */
const retireGraceMs = 10_000;

/**
 * The ggml-rpc-servers this node runs for distributed instances headed elsewhere (and, for tensor
 * split, for its own share of instances it heads). Each listens on loopback only; other nodes reach
 * it through the cluster channel's tunnel.
 */
export class LocalShards {
  /** The running RPC servers (handles to processes); what is known of them is in `NodeState.local`. */
  private readonly servers = new Map<string, RpcServerSupervisor>();
  /** Shards no longer wanted, kept until their head lets go. */
  private readonly retiring = new Map<RpcServerSupervisor, Promise<void>>();
  private readonly disposing = new AbortController();

  constructor(private readonly options: LocalShardsOptions) {}

  /** Starts and stops RPC servers as `planLocalActions` decided (other actions are not theirs). */
  async carryOut(actions: readonly LocalAction[]): Promise<void> {
    for (const action of actions) {
      if (action.type !== "stop-shard") continue;
      const server = this.servers.get(action.name);
      if (!server) continue;
      this.servers.delete(action.name);
      this.options.store.apply({ type: "shard-stopped", name: action.name });
      this.retiring.set(
        server,
        this.retire(action.name, server).finally(() => this.retiring.delete(server)),
      );
    }
    const starts = actions.filter((action) => action.type === "start-shard");
    if (starts.length === 0) return;
    const engine = await this.options.engine();
    for (const { name, threads, transport, host: routeHost } of starts) {
      if (this.servers.has(name)) continue;
      // Direct transport is for trusted fabrics (RDMA, Thunderbolt): the rpc-server listens on the
      // network itself, with no key in front of it: under `auto` on the private path's address
      // alone (the plan names it), under `direct` because the user asked for exactly that.
      const host = transport === "direct" ? (routeHost ?? this.options.directHost) : "127.0.0.1";
      // What its client's connection runs on (RDMA or TCP), from its log as it writes it.
      let rpcLog = initialRpcLogState;
      const server: RpcServerSupervisor = new RpcServerSupervisor({
        name,
        engine,
        host,
        threads: threads ?? this.options.engineThreads,
        cacheDirectory: join(this.options.home, "cache"),
        logDirectory: this.options.logDirectory,
        runDirectory: this.options.runDirectory,
        parentDeathWrapper: this.options.parentDeathWrapper,
        logger: this.options.logger,
        onLine: (line) => {
          const before = describeRpcTransport(rpcLog.current);
          rpcLog = foldRpcLogLine(rpcLog, line);
          const rpc = describeRpcTransport(rpcLog.current);
          if (rpc !== undefined && rpc !== before && this.servers.get(name) === server)
            this.options.store.apply({ type: "shard-rpc-observed", name, rpc });
        },
        onState: (shardState, reason) => {
          this.options.logger.info(
            { shard: name, state: shardState },
            `rpc shard ${name}: ${shardState} (${reason})`,
          );
          // A retired server's last words are not this shard's: a new one may run under its name.
          if (this.servers.get(name) !== server) return;
          if (shardState === "READY" && server.port !== undefined) {
            this.options.store.apply({ type: "shard-ready", name, port: server.port });
          } else if (shardState === "FAILED") {
            this.options.store.apply({ type: "shard-failed", name, reason });
          }
        },
      });
      this.servers.set(name, server);
      this.options.store.apply({ type: "shard-started", name, host });
      server.start();
    }
  }

  /** Where a shard's RPC server listens, when it is READY. */
  lookup(name: string): { host: string; port: number; track: (socket: Socket) => void } | undefined {
    const shard = this.options.store.current.local.shards.get(name);
    if (!shard?.ready || shard.port === undefined) return undefined;
    return { host: shard.host, port: shard.port, track: (socket) => this.track(name, socket) };
  }

  private track(name: string, socket: Socket): void {
    this.options.store.apply({ type: "shard-connection-opened", name });
    socket.once("close", () => this.options.store.apply({ type: "shard-connection-closed", name }));
  }

  /**
   * Stops a shard that is no longer wanted once its head has let go of it. Every node learns of an
   * unload at about the same moment; a shard that went first would make the head's llama-server
   * abort on its way out (it asks its RPC servers for their memory as it exits), and an unload would
   * read as a crash in its log. The head closes its connections as it exits; a head that never does
   * (its machine is gone) is not waited for beyond `retireGraceMs`.
   */
  private async retire(name: string, server: RpcServerSupervisor): Promise<void> {
    await this.options.store
      .waitFor(
        (state) => !state.local.shardConnections.has(name),
        abortAfter(retireGraceMs, this.disposing.signal),
      )
      // Past the grace, or the node stopping: the server goes whether its head let go or not.
      .catch(() => {});
    await server.dispose();
  }

  async dispose(): Promise<void> {
    this.disposing.abort();
    const servers = [...this.servers];
    this.servers.clear();
    for (const [name] of servers) this.options.store.apply({ type: "shard-stopped", name });
    await Promise.all(servers.map(([, server]) => server.dispose()));
    await Promise.all(this.retiring.values());
  }

  killAllNow(): void {
    for (const server of [...this.servers.values(), ...this.retiring.keys()]) server.killNow();
  }
}
