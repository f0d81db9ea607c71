import { Hono } from "hono";
import { beforeEach, describe, expect, it } from "vitest";
import { ModelNotFoundError } from "../protocol/errors.js";
import { createLogger } from "../util/logger.js";
import { currentRequest } from "../util/request-context.js";
import { requestRegistry } from "../util/request-metrics.js";
import { mapError } from "./error-mapping.js";
import { metricsProtocolOf, observeRequests } from "./observe-requests.js";

let lines: Array<Record<string, unknown>>;
let app: Hono;

beforeEach(() => {
  lines = [];
  const logger = createLogger({
    level: "debug",
    destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  app = new Hono();
  app.use(observeRequests(logger));
  app.post("/v1/completions", (context) => {
    const request = currentRequest()!;
    request.model = "tiny";
    logger.info("inside the handler");
    return context.json({ id: request.requestId });
  });
  app.post("/v1/messages", () => {
    throw new ModelNotFoundError("absent");
  });
  app.onError((error, context) => context.json({}, mapError(error).status));
});

async function counter(name: string, labels: Record<string, string>): Promise<number> {
  const metric = await requestRegistry.getSingleMetric(name)?.get();
  const match = metric?.values.find((value) =>
    Object.entries(labels).every(([key, wanted]) => String(value.labels[key]) === wanted),
  );
  return match?.value ?? 0;
}

describe("observeRequests", () => {
  it("keeps a sensible x-request-id, returns it, and stamps every log line of the request with it", async () => {
    const response = await app.request("/v1/completions", {
      method: "POST",
      headers: { "x-request-id": "client-42" },
    });
    expect(response.headers.get("x-request-id")).toBe("client-42");
    expect(await response.json()).toEqual({ id: "client-42" });
    const inside = lines.find((line) => line.msg === "inside the handler");
    const served = lines.find((line) => line.msg === "request served");
    expect(inside?.requestId).toBe("client-42");
    expect(served).toMatchObject({
      requestId: "client-42",
      status: 200,
      model: "tiny",
      path: "/v1/completions",
    });
  });

  it.each([["has spaces in it"], ["x".repeat(200)], ['quote"d']])(
    "replaces an unusable x-request-id (%s) with a fresh one",
    async (header) => {
      const response = await app.request("/v1/completions", {
        method: "POST",
        headers: { "x-request-id": header },
      });
      const id = response.headers.get("x-request-id");
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(lines.find((line) => line.msg === "request served")?.requestId).toBe(id);
    },
  );

  it("counts requests and errors by protocol, model and status", async () => {
    const served = { protocol: "openai", model: "tiny", status: "200", source: "client" };
    const failed = { protocol: "anthropic", model: "", status: "404", kind: "invalid_request_error" };
    const servedBefore = await counter("herd_requests_total", served);
    const failedBefore = await counter("herd_request_errors_total", failed);
    await app.request("/v1/completions", { method: "POST" });
    await app.request("/v1/completions", { method: "POST" }, { herdClusterForwarded: true });
    await app.request("/v1/messages", { method: "POST" });
    expect(await counter("herd_requests_total", served)).toBe(servedBefore + 1);
    expect(await counter("herd_requests_total", { ...served, source: "node" })).toBeGreaterThanOrEqual(1);
    expect(await counter("herd_request_errors_total", failed)).toBe(failedBefore + 1);
  });

  it.each([
    ["/v1/chat/completions", "openai"],
    ["/v1/messages", "anthropic"],
    ["/api/chat", "ollama"],
    ["/herd/v1/cluster", "herd"],
    ["/index.html", "other"],
  ])("labels %s as %s", (path, protocol) => {
    expect(metricsProtocolOf(path)).toBe(protocol);
  });
});
