import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { protocolOfPath } from "./error-shapes.js";
import { createTestApp, type TestApp } from "./test-app.js";
import {
  bodyArbitrary,
  contentTypeArbitrary,
  fuzzedEndpoints,
  pathSegmentArbitrary,
} from "./test-fuzz-endpoints.js";

/**
 * V8's collector, so that the heap is measured without the garbage of thousands of requests: what
 * is left is what the app holds on to.
 */
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

/** Cases per endpoint: a few thousand in CI; `npm run fuzz` asks for many more. */
const runs = Number(process.env.FUZZ_RUNS ?? 2000);
const timeout = Math.max(60_000, runs * 30);

/** The error body a client of `path`'s protocol expects. */
function hasProtocolShape(path: string, body: unknown): boolean {
  const value = body as { error?: unknown; type?: unknown };
  switch (protocolOfPath(path)) {
    case "anthropic":
      return value.type === "error" && typeof (value.error as { message?: unknown })?.message === "string";
    case "ollama":
      return typeof value.error === "string";
    case "openai":
      return typeof (value.error as { message?: unknown })?.message === "string";
  }
}

async function expectClientError(testApp: TestApp, path: string, init: RequestInit): Promise<void> {
  const response = await testApp.app.request(path, init);
  const text = await response.text();
  expect(response.status, `${init.method} ${path}: ${text.slice(0, 300)}`).not.toBe(500);
  if (response.status >= 400) {
    expect(hasProtocolShape(path, JSON.parse(text)), `${path}: ${text.slice(0, 300)}`).toBe(true);
  }
}

describe.each([
  { mode: "open (loopback, no keys)", exposed: false, share: 1 },
  // With keys required every request stops at authentication, so fewer cases say as much.
  { mode: "keys required", exposed: true, share: 4 },
])("random and mutated requests, $mode", ({ exposed, share }) => {
  let testApp: TestApp;
  let heapBefore: number;
  beforeAll(async () => {
    testApp = await createTestApp({
      security: { exposed, insecureNoAuth: false, corsOrigins: [], maxBodyBytes: 64 * 1024 },
    });
    collectGarbage();
    heapBefore = process.memoryUsage().heapUsed;
  });
  afterAll(async () => {
    // Whatever was sent, the app holds on to nothing of it.
    collectGarbage();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(256 * 1024 * 1024);
    await testApp.dispose();
  });

  for (const endpoint of fuzzedEndpoints) {
    it(
      `${endpoint.method} ${endpoint.path}: never a 500, errors in the protocol's shape`,
      async () => {
        await fc.assert(
          fc.asyncProperty(
            bodyArbitrary(endpoint),
            contentTypeArbitrary,
            pathSegmentArbitrary,
            fc.option(fc.string({ maxLength: 80 })),
            async (body, contentType, segment, authorization) => {
              const path = endpoint.path.replace("{name}", segment);
              const headers: Record<string, string> = {};
              if (contentType) headers["content-type"] = contentType;
              if (authorization !== null) headers.authorization = authorization;
              await expectClientError(testApp, path, {
                method: endpoint.method,
                headers,
                body: endpoint.method === "GET" ? undefined : (body as BodyInit),
              });
            },
          ),
          { numRuns: Math.ceil((endpoint.validBody ? runs : runs / 4) / share) },
        );
      },
      timeout,
    );
  }

  it(
    "random paths and methods: never a 500",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"),
          fc.array(fc.oneof(pathSegmentArbitrary, fc.constantFrom("v1", "api", "herd", "models")), {
            maxLength: 5,
          }),
          async (method, segments) => {
            const response = await testApp.app.request(`/${segments.join("/")}`, { method });
            expect(response.status).not.toBe(500);
          },
        ),
        { numRuns: Math.ceil(runs / share) },
      );
    },
    timeout,
  );
});
