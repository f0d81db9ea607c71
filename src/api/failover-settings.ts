import type { FailoverSettings } from "../inference/continue-reply.js";
import { streamFailoverPause, streamFailoversTotal } from "../util/request-metrics.js";
import type { ApiDependencies } from "./api-dependencies.js";

/**
 * How this node continues a reply whose instance failed (`--failover-timeout`), or undefined when
 * it does not. `keepAlive` is what the stream carries while it waits: an SSE comment where the
 * engine's bytes go to the client as they are, an event the protocol adapters turn into their own
 * keep-alive (Anthropic's `ping`) where they read it.
 */
export function failoverSettings(
  dependencies: ApiDependencies,
  keepAlive: "comment" | "part",
): FailoverSettings | undefined {
  const timeoutMs = dependencies.failoverTimeoutMs ?? 0;
  if (timeoutMs <= 0) return undefined;
  return {
    timeoutMs,
    keepAlive: keepAlive === "comment" ? ": waiting for the model's instance\n\n" : keepAliveEvent,
    onFailover: (report) => {
      streamFailoversTotal.inc({ model: report.model, outcome: report.outcome });
      if (report.outcome === "continued")
        streamFailoverPause.observe({ model: report.model }, report.pauseMs / 1000);
      const fields = { ...report, pauseMs: Math.round(report.pauseMs) };
      dependencies.publish?.({
        type: report.outcome === "continued" ? "reply-continued" : "reply-lost",
        requestId: report.requestId ?? null,
        model: report.model,
        instanceId: report.instanceId ?? null,
        lostNodes: report.lostNodes,
        pauseMs: fields.pauseMs,
        ...(report.reason ? { reason: report.reason } : {}),
      });
      if (report.outcome === "continued")
        dependencies.logger.warn(fields, "reply continued on another instance");
      else dependencies.logger.error(fields, "reply lost with its instance");
    },
  };
}

/** The event that stands for a keep-alive part between the continuation layer and the protocol adapters. */
export const keepAliveEventName = "herd-keep-alive";
const keepAliveEvent = `event: ${keepAliveEventName}\ndata: {}\n\n`;
