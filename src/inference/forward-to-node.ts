import type { IncomingMessage } from "node:http";
import { Agent } from "node:https";
import { dialPeer, requestPeerAt } from "../cluster/dial-peer.js";
import { ModelUnavailableError } from "../protocol/errors.js";
import type { NodeId } from "../protocol/ids.js";
import { currentRequest } from "../util/request-context.js";
import type { EngineResponse } from "./forward-to-engine.js";

export interface NodeForwardOptions {
  model: string;
  /** The head node's cluster channel endpoints. */
  endpoints: string[];
  /** The API path on the head, e.g. `/v1/chat/completions`. */
  path: string;
  body: unknown;
  signal: AbortSignal;
  /** TLS options for the cluster channel (the cluster key). */
  tls: object;
  /** The node the request goes to (to keep one connection pool per peer). */
  node: NodeId;
}

const agents = new Map<string, Agent>();

/**
 * Sends an API request to the node that heads the instance, over the cluster channel (TLS with
 * the cluster key), and returns its response to be streamed back unchanged. Connections are kept
 * open per peer so a forwarded request pays no handshake.
 */
export async function forwardToNode(options: NodeForwardOptions): Promise<EngineResponse> {
  let agent = agents.get(options.node);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: 256, ...options.tls });
    agents.set(options.node, agent);
  }
  const payload = Buffer.from(JSON.stringify(options.body));
  // The head logs the request under the same id as this node, so one id finds it on both.
  const requestId = currentRequest()?.requestId;
  try {
    const response = await dialPeer(
      options.endpoints,
      (address) =>
        requestPeerAt(address, {
          path: `/cluster/v1/api${options.path}`,
          method: "POST",
          agent,
          signal: options.signal,
          headers: {
            "content-type": "application/json",
            "content-length": payload.length,
            ...(requestId ? { "x-request-id": requestId } : {}),
          },
          body: payload,
        }),
      options.signal,
    );
    return { status: response.statusCode ?? 502, headers: passedHeaders(response), body: response };
  } catch (error) {
    if (options.signal.aborted) throw error;
    throw new ModelUnavailableError(
      options.model,
      "UNREACHABLE",
      `the node that serves it cannot be reached (${(error as Error).message})`,
    );
  }
}

/** The head's response headers a client should see: not those about the hop to the head. */
function passedHeaders(response: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (
      typeof value === "string" &&
      !["connection", "keep-alive", "transfer-encoding", "content-length"].includes(name)
    ) {
      headers[name] = value;
    }
  }
  return headers;
}
