import { freemem, totalmem } from "node:os";
import { Hono } from "hono";
import { Registry } from "prom-client";
import { readEngineLoad } from "../../engine/read-engine-load.js";
import type { InstanceId } from "../../protocol/ids.js";
import { collectProcessMetrics, requestRegistry } from "../../util/request-metrics.js";
import type { ApiDependencies } from "../api-dependencies.js";
import { nodeMetrics } from "./node-metrics.js";

/** `GET /metrics`: the node's traffic, instances, cluster and process in Prometheus text format. */
export function metricsRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();
  collectProcessMetrics();

  app.get("/metrics", async (context) => {
    const { instances, router } = dependencies;
    const local = await Promise.all(
      instances.list().map(async (status) => {
        const endpoint = instances
          .ready(status.model)
          .find((ready) => ready.status.id === status.id)?.endpoint;
        return { status, load: endpoint ? await readEngineLoad(endpoint) : undefined };
      }),
    );
    const state = nodeMetrics({
      view: dependencies.cluster.view(),
      local,
      inFlight: (id) => router.load(id as InstanceId),
      memory: { totalBytes: totalmem(), freeBytes: freemem() },
      probes: dependencies.cluster.probeTraffic?.(),
    });
    const merged = Registry.merge([requestRegistry, state]);
    return context.text(await merged.metrics(), 200, { "content-type": merged.contentType });
  });

  return app;
}
