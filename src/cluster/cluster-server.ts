import type { IncomingMessage } from "node:http";
import { createServer, type Server } from "node:https";
import type { Socket } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { type WebSocket, WebSocketServer } from "ws";
import type { ChannelApp } from "./channel-app.js";
import { acceptTunnel, isTunnelRequest, type RpcServerLookup } from "./rpc-tunnel.js";
import { clusterServerTlsOptions, describeTlsFailure } from "./secure-channel.js";

export interface ClusterServerOptions {
  key: Buffer;
  host: string;
  port: number;
  /** A peer opened the cluster WebSocket. */
  onPeerSocket: (socket: WebSocket, remoteAddress: string) => void;
  /** HTTP requests on the channel (bulk transfers, forwarded requests, desired-state changes). */
  app: ChannelApp;
  /** Where the local RPC server behind a tunnel name listens (see `rpc-tunnel.ts`). */
  rpcServers: RpcServerLookup;
  /** Someone failed the handshake: the reason is for the log. */
  onRefused: (remoteAddress: string, reason: string) => void;
}

/** The size ceiling of one cluster message; a bigger one is a bug or an attack. */
export const maxClusterMessageBytes = 8 * 1024 * 1024;

/**
 * The node's cluster channel: HTTPS and WebSocket over TLS with the cluster key, on `--cluster-port`.
 * Everything a node says to another goes through here, so nothing reaches a node without the key.
 */
export async function startClusterServer(
  options: ClusterServerOptions,
): Promise<{ server: Server; close(): Promise<void> }> {
  const sockets = new WebSocketServer({ noServer: true, maxPayload: maxClusterMessageBytes });
  const server = createServer(
    clusterServerTlsOptions(options.key),
    // Forwarded API requests are drained by the API's own listener, which they are handed to.
    getRequestListener(options.app.fetch, { autoCleanupIncoming: false }),
  );
  server.on("tlsClientError", (error: NodeJS.ErrnoException, socket) => {
    options.onRefused(socket.remoteAddress ?? "unknown", describeTlsFailure(error));
  });
  server.on("upgrade", (request: IncomingMessage, socket: Socket, head: Buffer) => {
    if (isTunnelRequest(request)) {
      acceptTunnel(request, socket, head, options.rpcServers);
      return;
    }
    if (request.url !== "/cluster/v1/ws") {
      socket.destroy();
      return;
    }
    sockets.handleUpgrade(request, socket, head, (webSocket) =>
      options.onPeerSocket(webSocket, request.socket.remoteAddress ?? "unknown"),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE"
          ? new Error(
              `cluster port ${options.port} on ${options.host} is in use; choose another with --cluster-port`,
            )
          : error,
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of sockets.clients) client.terminate();
        sockets.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
