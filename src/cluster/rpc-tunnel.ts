import type { IncomingMessage } from "node:http";
import { connect as connectTcp, createServer, type Server, type Socket } from "node:net";
import { connect as connectTls, type TLSSocket } from "node:tls";
import type { NodeId } from "../protocol/ids.js";
import { dialPeer, type PeerAddress } from "./dial-peer.js";
import { clusterClientTlsOptions } from "./secure-channel.js";

const tunnelPath = "/cluster/v1/rpc/";

/**
 * Where a local RPC server for a tunnel name listens, if it is ready; `track` is told of each tunnel
 * connection to it (so the server can outlive its instance until the head lets go, see LocalShards).
 */
export type RpcServerLookup = (
  name: string,
) => { host: string; port: number; track?: (socket: Socket) => void } | undefined;

/** Whether an upgrade request on the cluster channel is an RPC tunnel. */
export function isTunnelRequest(request: IncomingMessage): boolean {
  return request.url?.startsWith(tunnelPath) === true;
}

/**
 * The shard side of a tunnel: the head's herd asked, over the key-authenticated cluster channel, to
 * reach the local ggml-rpc-server named in the path; connect it and splice the two sockets. The
 * RPC server itself listens on loopback only, so this is the only way to it from another machine.
 */
export function acceptTunnel(
  request: IncomingMessage,
  socket: Socket,
  head: Buffer,
  lookup: RpcServerLookup,
): void {
  const name = decodeURIComponent(request.url!.slice(tunnelPath.length));
  const target = lookup(name);
  if (!target) {
    socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    return;
  }
  const upstream = connectTcp({ host: target.host, port: target.port });
  upstream.setNoDelay(true);
  socket.setNoDelay(true);
  upstream.once("connect", () => {
    socket.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: herd-rpc\r\n\r\n");
    if (head.length > 0) upstream.write(head);
    splice(socket, upstream);
    target.track?.(socket);
  });
  upstream.once("error", () => {
    if (!socket.destroyed)
      socket.end("HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  });
}

export interface TunnelOptions {
  /** The RPC server's name on the shard node (`<instance>-<shard>`). */
  name: string;
  /** The shard node's cluster channel endpoints. */
  endpoints: string[];
  key: Buffer;
  selfId: NodeId;
}

/**
 * The head side of a tunnel: a loopback port that llama-server's `--rpc` connects to; each
 * connection is carried over TLS with the cluster key to the shard node's herd, which hands it to
 * the shard's RPC server. Latency matters (RPC is synchronous), so Nagle is off on every hop.
 */
export class RpcTunnel {
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly options: TunnelOptions,
  ) {}

  static async open(options: TunnelOptions): Promise<RpcTunnel> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const address = server.address();
    const tunnel = new RpcTunnel(server, typeof address === "object" && address ? address.port : 0, options);
    server.on("connection", (local) => tunnel.carry(local));
    return tunnel;
  }

  /** The `host:port` to give llama-server's `--rpc`. */
  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Whether the shard's RPC server is reachable through the tunnel now. */
  async probe(): Promise<boolean> {
    try {
      const remote = await this.connectRemote();
      remote.destroy();
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private carry(local: Socket): void {
    local.setNoDelay(true);
    local.pause();
    this.sockets.add(local);
    local.once("close", () => this.sockets.delete(local));
    this.connectRemote().then(
      (remote) => {
        this.sockets.add(remote);
        remote.once("close", () => this.sockets.delete(remote));
        splice(local, remote);
        local.resume();
      },
      () => local.destroy(),
    );
  }

  /** TLS to the first shard endpoint that answers, then the upgrade handshake. */
  private connectRemote(): Promise<TLSSocket> {
    return dialPeer(this.options.endpoints, (address) => upgrade(address, this.options));
  }
}

function upgrade({ host, port }: PeerAddress, options: TunnelOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host, port, ...clusterClientTlsOptions(options.key, options.selfId) });
    socket.setNoDelay(true);
    const timer = setTimeout(() => socket.destroy(new Error("tunnel handshake timed out")), 5000);
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once("secureConnect", () => {
      socket.write(
        `GET ${tunnelPath}${encodeURIComponent(options.name)} HTTP/1.1\r\nHost: herd\r\nConnection: Upgrade\r\nUpgrade: herd-rpc\r\n\r\n`,
      );
    });
    let response = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      response = Buffer.concat([response, chunk]);
      const end = response.indexOf("\r\n\r\n");
      if (end === -1) {
        if (response.length > 4096) socket.destroy(new Error("tunnel handshake too long"));
        return;
      }
      socket.off("data", onData);
      clearTimeout(timer);
      const status = response.subarray(0, end).toString("latin1").split(" ")[1];
      if (status !== "101") {
        socket.destroy();
        reject(new Error(`the shard answered ${status} (its RPC server is not ready)`));
        return;
      }
      socket.pause();
      const rest = response.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    socket.on("data", onData);
  });
}

/** Pipes two sockets into each other; either side closing closes both. */
function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const close = () => {
    a.destroy();
    b.destroy();
  };
  a.once("close", close);
  b.once("close", close);
  a.on("error", close);
  b.on("error", close);
}
