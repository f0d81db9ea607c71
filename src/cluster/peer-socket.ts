import type { WebSocket } from "ws";
import { ClusterMessage, type NodeIntroduction } from "../protocol/cluster.js";
import { parseJsonWithDepthLimit } from "../util/json-depth.js";

/** One open cluster WebSocket to a peer, before and after it said who it is. */
export class PeerSocket {
  /** Set when the peer's hello arrived. */
  peer: NodeIntroduction | undefined;
  private closed = false;

  constructor(
    readonly socket: WebSocket,
    /** We dialed it (rather than it dialing us). */
    readonly outbound: boolean,
    /** The `host:port` we dialed, or the remote address of an inbound connection. */
    readonly endpoint: string,
  ) {
    socket.once("close", () => {
      this.closed = true;
    });
  }

  get isOpen(): boolean {
    return !this.closed && this.socket.readyState === this.socket.OPEN;
  }

  send(message: ClusterMessage): void {
    if (this.isOpen) this.socket.send(JSON.stringify(message));
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close(code, reason);
  }

  /** Drops the connection at once, without the closing handshake a dead path would never answer. */
  terminate(): void {
    this.closed = true;
    this.socket.terminate();
  }
}

/** Parses and validates a message from a peer; throws on anything malformed. */
export function parseClusterMessage(data: Buffer | ArrayBuffer | Buffer[]): ClusterMessage {
  const text = Array.isArray(data)
    ? Buffer.concat(data).toString("utf8")
    : Buffer.from(data as ArrayBuffer).toString("utf8");
  return ClusterMessage.parse(parseJsonWithDepthLimit(text));
}
