import type { IncomingMessage, ServerResponse } from "node:http";
import type { HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { DesiredEvent, type DesiredState } from "../protocol/cluster.js";
import { InvalidRequestError, PayloadTooLargeError } from "../protocol/errors.js";
import { parseJsonWithDepthLimit } from "../util/json-depth.js";
import type { Logger } from "../util/logger.js";
import { serveBulkProbe } from "./link-prober.js";
import type { ProbeBudget } from "./probe-budget.js";
import type { RpcServerLookup } from "./rpc-tunnel.js";

/** The cluster channel's HTTP app: its requests carry the Node request and response as bindings. */
export type ChannelApp = Hono<{ Bindings: HttpBindings }>;

/** What a peer is told of an error: the status and message the API's one error mapping gives it. */
export type ChannelErrorMapping = (error: unknown) => { status: number; message: string };

export interface ChannelAppOptions {
  /** Where the local RPC servers listen, by name (direct-transport shards). */
  rpcServers: RpcServerLookup;
  /** Bounds the bulk probes this node serves; unbounded when absent (tests of the channel alone). */
  probeBudget?: ProbeBudget;
  /** Applies a change to the desired state; refused unless this node coordinates. */
  changeDesired: (change: DesiredEvent) => Promise<DesiredState>;
  /** Serves an API request another node forwarded (its path without the `/cluster/v1/api` prefix). */
  onApiRequest?: (request: IncomingMessage, response: ServerResponse) => void;
  /** More routes on the channel (model files for peers). */
  routes?: ChannelApp;
  mapError: ChannelErrorMapping;
  logger: Logger;
}

const maxChangeBytes = 1024 * 1024;

/**
 * The routes a peer may call on this node's cluster channel (only peers holding the cluster key get
 * this far). Errors reach the peer as the API's error body, `{ error: { message } }`, with the
 * status the one error mapping gives them.
 */
export function createChannelApp(options: ChannelAppOptions): ChannelApp {
  const app: ChannelApp = new Hono();
  app.get("/cluster/v1/bulk", (context) => {
    serveBulkProbe(new URL(context.req.url), context.env.outgoing, options.probeBudget);
    return RESPONSE_ALREADY_SENT;
  });
  // Where a direct-transport shard listens; tunnelled shards are reached through /cluster/v1/rpc/.
  app.get("/cluster/v1/rpc-servers/:name", (context) => {
    const found = options.rpcServers(context.req.param("name"));
    if (!found) return context.json({ error: { message: "not ready" } }, 503);
    return context.json({ host: found.host, port: found.port });
  });
  app.all("/cluster/v1/api/*", (context) => {
    if (!options.onApiRequest) return context.notFound();
    const { incoming, outgoing } = context.env;
    const url = new URL(context.req.url);
    incoming.url = `${url.pathname.slice("/cluster/v1/api".length)}${url.search}`;
    options.onApiRequest(incoming, outgoing);
    return RESPONSE_ALREADY_SENT;
  });
  app.post(
    "/cluster/v1/desired-changes",
    bodyLimit({
      maxSize: maxChangeBytes,
      onError: () => {
        throw new PayloadTooLargeError(maxChangeBytes);
      },
    }),
    async (context) => {
      return context.json(await options.changeDesired(DesiredEvent.parse(await jsonBody(context.req.raw))));
    },
  );
  if (options.routes) app.route("/", options.routes);
  app.notFound((context) =>
    context.json(
      { error: { message: `no cluster route ${context.req.method} ${new URL(context.req.url).pathname}` } },
      404,
    ),
  );
  app.onError((error, context) => {
    const mapped = options.mapError(error);
    if (mapped.status >= 500)
      options.logger.warn({ err: error }, "a peer's request on the cluster channel failed");
    if (context.env.outgoing.headersSent) {
      // The answer had started: the peer can only learn of the failure from the connection closing.
      context.env.outgoing.destroy(error);
      return RESPONSE_ALREADY_SENT;
    }
    return context.json({ error: { message: mapped.message } }, mapped.status as ContentfulStatusCode);
  });
  return app;
}

async function jsonBody(request: Request): Promise<unknown> {
  const text = await request.text();
  try {
    return parseJsonWithDepthLimit(text);
  } catch (error) {
    throw new InvalidRequestError(`the body is not JSON: ${(error as Error).message}`, null, {
      cause: error,
    });
  }
}
