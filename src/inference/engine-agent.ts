import { Agent, type AgentOptions, type ClientRequestArgs } from "node:http";
import { createConnection, type Socket } from "node:net";
import type { Duplex } from "node:stream";

export interface EngineAgentOptions extends AgentOptions {
  /**
   * How long a connection opened ahead of the next request waits for one before it is closed:
   * default 4 s, under llama-server's 5 s keep-alive timeout (cpp-httplib's default), so that herd
   * closes a spare before the engine can close it under a request written on it.
   */
  spareLifetimeMs?: number;
}

interface Spare {
  socket: Socket;
  timer: NodeJS.Timeout;
  /** The listeners that drop the spare when it closes or fails before it is used. */
  forget: () => void;
}

/**
 * The HTTP agent for llama-server: keeps connections alive between requests, and opens the next
 * connection to an engine as soon as one closes, so that the next request is written at once.
 *
 * llama-server closes the connection after every streamed response: its stream provider returns
 * false once it has sent the last chunk, which cpp-httplib counts as a cancelled stream, and so it
 * closes the connection. Keep-alive never applies to the token path, and every streamed request
 * would first open a connection (a socket, the handshake, and a turn of the event loop before the
 * request can be written), all of it before the first token. With a spare connection open, the
 * request is written in the same turn it was routed.
 *
 * One spare per engine at most, opened only when a connection that carried a request closes, and
 * closed unused after `spareLifetimeMs`: an engine nobody talks to has no connection from herd.
 */
export class EngineAgent extends Agent {
  private readonly spares = new Map<string, Spare>();
  private readonly spareLifetimeMs: number;
  /** The TCP keep-alive of the connections this agent opens itself, as the agent's options say. */
  private readonly tcpKeepAlive: { keepAlive: boolean; keepAliveInitialDelay: number | undefined };
  /** Sockets that were opened as spares, for `wasSpare`. */
  private readonly fromSpares = new WeakSet<Duplex>();
  private destroyed = false;

  constructor(options: EngineAgentOptions = {}) {
    const { spareLifetimeMs = 4000, ...agentOptions } = options;
    super(agentOptions);
    this.spareLifetimeMs = spareLifetimeMs;
    this.tcpKeepAlive = {
      keepAlive: agentOptions.keepAlive ?? false,
      keepAliveInitialDelay: agentOptions.keepAliveMsecs,
    };
  }

  override createConnection(options: ClientRequestArgs): Duplex {
    const host = options.host ?? "localhost";
    const port = Number(options.port);
    const socket = this.takeSpare(host, port) ?? this.connect(host, port);
    // When the engine closes this connection (after a streamed response, or when kept alive and
    // idle too long), the next request will want another.
    socket.once("close", () => this.openSpare(host, port));
    return socket;
  }

  /**
   * Whether `socket` was opened before its request was: like a kept-alive connection, the engine
   * may have closed it just as the request was written, and nothing reached the engine.
   */
  wasSpare(socket: Duplex | null | undefined): boolean {
    return socket !== null && socket !== undefined && this.fromSpares.has(socket);
  }

  override destroy(): void {
    this.destroyed = true;
    for (const spare of this.spares.values()) {
      spare.forget();
      spare.socket.destroy();
    }
    this.spares.clear();
    super.destroy();
  }

  private connect(host: string, port: number): Socket {
    return createConnection({ host, port, noDelay: true, ...this.tcpKeepAlive });
  }

  private takeSpare(host: string, port: number): Socket | undefined {
    const key = `${host}:${port}`;
    const spare = this.spares.get(key);
    if (!spare) return undefined;
    this.spares.delete(key);
    spare.forget();
    const { socket } = spare;
    if (socket.destroyed || !socket.writable || !socket.readable) {
      socket.destroy();
      return undefined;
    }
    socket.ref();
    return socket;
  }

  private openSpare(host: string, port: number): void {
    const key = `${host}:${port}`;
    if (this.destroyed || this.spares.has(key)) return;
    const socket = this.connect(host, port);
    // A spare does not keep the process alive, nor does a failed one (the engine stopped) matter.
    socket.unref();
    const drop = () => {
      if (this.spares.get(key)?.socket === socket) this.spares.delete(key);
      spare.forget();
      socket.destroy();
    };
    const events = ["error", "end", "close"] as const;
    const spare: Spare = {
      socket,
      timer: setTimeout(drop, this.spareLifetimeMs).unref(),
      forget: () => {
        clearTimeout(spare.timer);
        for (const event of events) socket.off(event, drop);
      },
    };
    for (const event of events) socket.on(event, drop);
    this.fromSpares.add(socket);
    this.spares.set(key, spare);
  }
}
