import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

/**
 * The counters and histograms that traffic moves, one set per process (a process runs one node).
 * Gauges of the node's state (instances, links, memory) are read fresh at each scrape instead; see
 * `api/metrics/node-metrics.ts`.
 */
export const requestRegistry = new Registry();

let defaultsCollected = false;

/** Adds Node's own process metrics (resident memory, heap, event loop lag) to the registry, once. */
export function collectProcessMetrics(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  // Event loop lag sampled every 100 ms rather than prom-client's 10 ms: an idle node would
  // otherwise wake 100 times a second for it, and a scrape every few seconds needs no finer grain.
  collectDefaultMetrics({ register: requestRegistry, eventLoopMonitoringPrecision: 100 });
}

export const requestsTotal = new Counter({
  name: "herd_requests_total",
  help: "API requests answered, by client protocol, model, HTTP status and source (client, or another node forwarding)",
  labelNames: ["protocol", "model", "status", "source"] as const,
  registers: [requestRegistry],
});

export const requestErrorsTotal = new Counter({
  name: "herd_request_errors_total",
  help: "API requests that ended in an error, by protocol, model, status and kind (the error type, or stream_interrupted / client_closed for streams cut after they started)",
  labelNames: ["protocol", "model", "status", "kind"] as const,
  registers: [requestRegistry],
});

export const timeToFirstToken = new Histogram({
  name: "herd_time_to_first_token_seconds",
  help: "From a streaming request reaching the node that heads its instance to the engine's first token",
  labelNames: ["model"] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [requestRegistry],
});

export const decodeTokensPerSecond = new Histogram({
  name: "herd_decode_tokens_per_second",
  help: "Generation speed of each request as its engine measured it, on the node that heads the instance",
  labelNames: ["model"] as const,
  buckets: [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
  registers: [requestRegistry],
});

export const streamFailoversTotal = new Counter({
  name: "herd_stream_failovers_total",
  help: "Replies whose instance failed mid-way, on the node holding the client's connection: continued on another instance, or failed (none ready in time, or a reply that cannot be continued)",
  labelNames: ["model", "outcome"] as const,
  registers: [requestRegistry],
});

export const streamFailoverPause = new Histogram({
  name: "herd_stream_failover_pause_seconds",
  help: "How long a continued reply paused: from its instance failing to the continuation's first text",
  labelNames: ["model"] as const,
  buckets: [0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60],
  registers: [requestRegistry],
});
