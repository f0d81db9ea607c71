import { afterEach, describe, expect, it } from "vitest";
import type { ApiKeyScope } from "../../protocol/api-keys.js";
import type { ApiDependencies } from "../api-dependencies.js";
import { createTestApp, type TestApp } from "../test-app.js";

let testApp: TestApp | undefined;

afterEach(async () => {
  await testApp?.dispose();
  testApp = undefined;
});

async function start(security: Partial<ApiDependencies["security"]> = {}) {
  testApp = await createTestApp({
    security: { exposed: false, insecureNoAuth: false, corsOrigins: [], maxBodyBytes: 4096, ...security },
  });
  return testApp;
}

async function key(
  scope: ApiKeyScope,
  limits: { requestsPerMinute?: number; tokensPerMinute?: number } = {},
) {
  return (await testApp!.apiKeys.create({ scope, name: `${scope}-key`, ...limits })).secret;
}

function call(
  path: string,
  options: { key?: string; header?: "bearer" | "x-api-key"; method?: string; body?: unknown } = {},
) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.key && options.header === "x-api-key") headers["x-api-key"] = options.key;
  else if (options.key) headers.authorization = `Bearer ${options.key}`;
  return testApp!.app.request(path, {
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
}

/** One route of each protocol, and the shape of its error body. */
const protocols = [
  {
    name: "OpenAI",
    path: "/v1/chat/completions",
    shape: (status: number) =>
      expect.objectContaining({
        error: expect.objectContaining({
          message: expect.any(String),
          type: {
            401: "authentication_error",
            403: "permission_error",
            429: "rate_limit_error",
            413: "invalid_request_error",
          }[status],
        }),
      }),
  },
  {
    name: "Anthropic",
    path: "/v1/messages",
    shape: (status: number) => ({
      type: "error",
      error: {
        type: {
          401: "authentication_error",
          403: "permission_error",
          429: "rate_limit_error",
          413: "request_too_large",
        }[status],
        message: expect.any(String),
      },
    }),
  },
  { name: "Ollama", path: "/api/chat", shape: () => ({ error: expect.any(String) }) },
];
const chatBody = { model: "stories260K", messages: [{ role: "user", content: "hi" }], max_tokens: 8 };

describe("API keys", () => {
  it("leave a loopback node with no key open, as before keys existed", async () => {
    await start();
    expect((await call("/v1/models")).status).toBe(200);
    expect((await call("/herd/v1/instances")).status).toBe(200);
    expect(((await (await call("/herd/v1/node")).json()) as { security: object }).security).toMatchObject({
      authRequired: false,
      activeKeys: 0,
    });
  });

  for (const protocol of protocols) {
    it(`refuse ${protocol.name} requests without a valid key with 401 in ${protocol.name}'s shape`, async () => {
      await start();
      const secret = await key("inference");
      const missing = await call(protocol.path, { body: chatBody });
      expect(missing.status).toBe(401);
      expect(missing.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(await missing.json()).toEqual(protocol.shape(401));
      const wrong = await call(protocol.path, { key: `${secret.slice(0, -4)}AAAA`, body: chatBody });
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toEqual(protocol.shape(401));
      const garbage = await call(protocol.path, { key: "sk-not-a-herd-key", body: chatBody });
      expect(garbage.status).toBe(401);
    });
  }

  it("accept a key as a Bearer token and as x-api-key", async () => {
    await start();
    const secret = await key("inference");
    expect((await call("/v1/models", { key: secret })).status).toBe(200);
    expect((await call("/v1/models", { key: secret, header: "x-api-key" })).status).toBe(200);
  });

  it("let an inference key call the model APIs only; an admin key everything", async () => {
    await start();
    const inference = await key("inference");
    const admin = await key("admin");
    expect((await call("/v1/models", { key: inference })).status).toBe(200);
    for (const path of ["/herd/v1/instances", "/herd/v1/keys", "/herd/v1/node", "/api/pull", "/api/delete"]) {
      const refused = await call(path, { key: inference });
      expect(refused.status, path).toBe(403);
      expect((await call(path, { key: admin })).status, path).not.toBe(403);
    }
    const created = await call("/herd/v1/keys", { key: inference, body: { scope: "admin" } });
    expect(created.status).toBe(403);
    expect(await created.json()).toEqual(protocols[0]!.shape(403));
    expect((await call("/herd/v1/instances", { key: admin })).status).toBe(200);
    expect((await call("/v1/models", { key: admin })).status).toBe(200);
  });

  it("stop accepting a key once it is revoked", async () => {
    await start();
    const admin = await key("admin");
    const created = await call("/herd/v1/keys", { key: admin, body: { name: "ci" } });
    expect(created.status).toBe(201);
    const { key: view, secret } = (await created.json()) as { key: { id: string }; secret: string };
    expect((await call("/v1/models", { key: secret })).status).toBe(200);
    const listed = (await (await call("/herd/v1/keys", { key: admin })).json()) as { keys: object[] };
    expect(JSON.stringify(listed)).not.toContain(secret);
    expect(JSON.stringify(listed)).not.toMatch(/"hash"/);
    expect((await call(`/herd/v1/keys/${view.id}`, { key: admin, method: "DELETE" })).status).toBe(200);
    expect((await call("/v1/models", { key: secret })).status).toBe(401);
    expect((await call("/herd/v1/keys/000000000000", { key: admin, method: "DELETE" })).status).toBe(404);
  });

  it("are required on an exposed API even before one exists, unless --insecure-no-auth", async () => {
    await start({ exposed: true });
    expect((await call("/v1/models")).status).toBe(401);
    expect((await call("/herd/v1/node")).status).toBe(401);
    // llama-server's fill-in-the-middle runs a model, though it lives outside /v1.
    const infill = { model: "stories260K", input_prefix: "a", input_suffix: "b" };
    expect((await call("/infill", { body: infill })).status).toBe(401);
    await testApp!.dispose();
    await start({ exposed: true, insecureNoAuth: true });
    expect((await call("/v1/models")).status).toBe(200);
    const node = (await (await call("/herd/v1/node")).json()) as { security: object };
    expect(node.security).toMatchObject({ authRequired: false, insecureNoAuth: true, exposed: true });
  });

  it("are not asked of requests another node forwarded over the cluster channel", async () => {
    await start({ exposed: true });
    await key("admin");
    const forwarded = await testApp!.app.request("/v1/models", {}, { herdClusterForwarded: true });
    expect(forwarded.status).toBe(200);
    // A client cannot claim to be a forwarding node with a header.
    const spoofed = await testApp!.app.request("/v1/models", { headers: { "x-herd-forwarded": "1" } });
    expect(spoofed.status).toBe(401);
  });
});

describe("rate limits", () => {
  for (const protocol of protocols) {
    it(`answer ${protocol.name} clients over their requests per minute with 429 and Retry-After`, async () => {
      await start();
      const secret = await key("inference", { requestsPerMinute: 2 });
      for (let index = 0; index < 2; index++) {
        expect((await call(protocol.path, { key: secret, body: chatBody })).status).not.toBe(429);
      }
      const limited = await call(protocol.path, { key: secret, body: chatBody });
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(30);
      expect(await limited.json()).toEqual(protocol.shape(429));
      // Another key has its own bucket.
      expect((await call(protocol.path, { key: await key("inference"), body: chatBody })).status).not.toBe(
        429,
      );
    });
  }

  it("count tokens: the prompt and the output asked for", async () => {
    await start();
    const secret = await key("inference", { tokensPerMinute: 600 });
    const ask = (maxTokens: number) =>
      call("/v1/chat/completions", { key: secret, body: { ...chatBody, max_tokens: maxTokens } });
    expect((await ask(400)).status).not.toBe(429);
    const limited = await ask(400);
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { error: { message: string } }).error.message).toMatch(/tokens/);
    // Asking for less still fits in what is left.
    expect((await ask(100)).status).not.toBe(429);
  });

  it("leave keys with limit 0 unlimited", async () => {
    await start();
    const secret = await key("inference", { requestsPerMinute: 0, tokensPerMinute: 0 });
    for (let index = 0; index < 50; index++)
      expect((await call("/v1/models", { key: secret })).status).toBe(200);
  });
});

describe("request limits", () => {
  for (const protocol of protocols) {
    it(`refuse a ${protocol.name} body over --max-body with 413 in its shape`, async () => {
      await start({ maxBodyBytes: 4096 });
      const big = { ...chatBody, messages: [{ role: "user", content: "x".repeat(5000) }] };
      const response = await call(protocol.path, { body: big });
      expect(response.status).toBe(413);
      expect(await response.json()).toEqual(protocol.shape(413));
    });
  }

  it("judge a body that says its length by that length alone", async () => {
    await start({ maxBodyBytes: 4096 });
    const request = (length: number) =>
      testApp!.app.request("/v1/chat/completions", {
        method: "POST",
        body: JSON.stringify(chatBody),
        headers: { "content-type": "application/json", "content-length": String(length) },
      });
    const over = await request(5000);
    expect(over.status).toBe(413);
    expect(await over.json()).toEqual(protocols[0]!.shape(413));
    expect((await request(JSON.stringify(chatBody).length)).status).not.toBe(413);
  });

  it("refuse a chunked body over --max-body without reading all of it", async () => {
    await start({ maxBodyBytes: 4096 });
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 1024;
        if (sent > 1024 * 1024) controller.close();
        else controller.enqueue(new Uint8Array(1024).fill(32));
      },
    });
    const response = await testApp!.app.request("/v1/chat/completions", {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
      duplex: "half",
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(sent).toBeLessThan(64 * 1024);
  });
});

describe("CORS", () => {
  it("is off by default", async () => {
    await start();
    const response = await testApp!.app.request("/v1/models", {
      headers: { origin: "https://evil.example" },
    });
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("allows only the configured origins, and preflights without a key", async () => {
    await start({ corsOrigins: ["https://dashboard.example"] });
    await key("admin");
    const preflight = await testApp!.app.request("/herd/v1/node", {
      method: "OPTIONS",
      headers: {
        origin: "https://dashboard.example",
        "access-control-request-method": "GET",
        "access-control-request-headers": "authorization",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://dashboard.example");
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(/authorization/);
    const other = await testApp!.app.request("/v1/models", { headers: { origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});
