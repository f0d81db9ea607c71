import type { HttpBindings } from "@hono/node-server";
import type { MiddlewareHandler } from "hono";
import type { Logger } from "../util/logger.js";
import { type RequestContext, requestIdFrom, runWithRequestContext } from "../util/request-context.js";
import { requestErrorsTotal, requestsTotal } from "../util/request-metrics.js";
import { mapError } from "./error-mapping.js";
import { protocolOfPath } from "./error-shapes.js";
import { isClusterForwarded } from "./security/api-security.js";

/** The protocol label of a path: a client protocol, herd's own API, or `other` (dashboard files). */
export function metricsProtocolOf(path: string): string {
  if (path.startsWith("/herd/")) return "herd";
  if (path.startsWith("/v1/") || path.startsWith("/api/")) return protocolOfPath(path);
  return "other";
}

/**
 * Gives every request an id (the caller's `x-request-id`, or a new one), returns it as a header,
 * serves the request with it as the current request (so each log line written meanwhile carries it,
 * and a request forwarded to another node takes it along), and when the answer is over, logs one
 * line and counts it by protocol, model and status. A stream counts when it ends, since only then is
 * it known whether it was cut.
 */
export function observeRequests(logger: Logger): MiddlewareHandler {
  return async (context, next) => {
    const path = context.req.path;
    if (path === "/metrics") return next();
    const startedAt = performance.now();
    const request: RequestContext = { requestId: requestIdFrom(context.req.header("x-request-id")) };
    const outgoing = (context.env as Partial<HttpBindings> | undefined)?.outgoing;
    outgoing?.setHeader("x-request-id", request.requestId);
    context.header("x-request-id", request.requestId);
    const forwarded = isClusterForwarded(context);
    const inference = !["herd", "other"].includes(metricsProtocolOf(path));
    await runWithRequestContext(request, async () => {
      await next();
      const finish = (status: number, kind: string | undefined) =>
        runWithRequestContext(request, () =>
          record(logger, { path, method: context.req.method, request, forwarded, status, kind, startedAt }),
        );
      const errorKind = context.error ? mapError(context.error).type : undefined;
      if (!outgoing || outgoing.writableFinished) {
        finish(outgoing?.statusCode ?? context.res.status, errorKind ?? notFoundKind(context.res.status));
        return;
      }
      // The answer is still streaming (an engine's tokens go straight to the socket).
      outgoing.once("close", () => {
        const kind = outgoing.writableFinished
          ? (errorKind ??
            notFoundKind(outgoing.statusCode) ??
            (request.interrupted ? "stream_interrupted" : undefined))
          : inference
            ? "client_closed"
            : // An event stream or a followed log ends when its reader leaves: that is no error.
              undefined;
        finish(outgoing.statusCode, kind);
      });
    });
  };
}

function notFoundKind(status: number): string | undefined {
  return status === 404 ? "not_found" : undefined;
}

function record(
  logger: Logger,
  facts: {
    path: string;
    method: string;
    request: RequestContext;
    forwarded: boolean;
    status: number;
    kind: string | undefined;
    startedAt: number;
  },
): void {
  const protocol = metricsProtocolOf(facts.path);
  const model = facts.request.model ?? "";
  const status = String(facts.status);
  requestsTotal.inc({ protocol, model, status, source: facts.forwarded ? "node" : "client" });
  const failed = facts.status >= 400 || facts.kind !== undefined;
  if (failed) requestErrorsTotal.inc({ protocol, model, status, kind: facts.kind ?? "error" });
  const line = {
    method: facts.method,
    path: facts.path,
    status: facts.status,
    model: facts.request.model,
    forwarded: facts.forwarded || undefined,
    error: facts.kind,
    ms: Math.round(performance.now() - facts.startedAt),
  };
  // Reads (status, events, polling dashboards) would drown the log at info; inference is what matters.
  if (facts.status >= 500) logger.warn(line, "request failed");
  else if (protocol === "herd" || protocol === "other") logger.debug(line, "request served");
  else logger.info(line, "request served");
}
