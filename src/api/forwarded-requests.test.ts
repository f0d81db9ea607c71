import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "./test-app.js";

const storiesPath = fileURLToPath(new URL("../../../shared/models/stories260K-f32.gguf", import.meta.url));

/**
 * A request another node forwarded is served by this node's instance or not at all: it never goes on
 * to a third node or back, whatever the client's headers say. The flag is the server's binding that
 * the cluster channel sets, which no client can.
 */
describe("forwarded requests", () => {
  let testApp: TestApp;
  const forwards: string[] = [];
  beforeEach(async () => {
    forwards.length = 0;
    testApp = await createTestApp({
      elsewhere: [{ id: "tiny-r2", model: "tiny", peer: "n2", parallel: 4 }],
      forwardToNode: async (route, path) => {
        forwards.push(`${route.instanceId} ${path}`);
        throw new Error("the other node is imaginary");
      },
    });
    const imported = await testApp.app.request("/herd/v1/models/import", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ path: storiesPath, name: "tiny" }),
    });
    expect(imported.status).toBe(201);
  });
  afterEach(async () => {
    await testApp.dispose();
  });

  const requests: Array<[string, unknown]> = [
    ["/v1/chat/completions", { model: "tiny", messages: [{ role: "user", content: "hi" }] }],
    ["/v1/completions", { model: "tiny", prompt: "hi" }],
    ["/v1/messages", { model: "tiny", max_tokens: 8, messages: [{ role: "user", content: "hi" }] }],
    ["/api/chat", { model: "tiny", stream: false, messages: [{ role: "user", content: "hi" }] }],
    ["/api/generate", { model: "tiny", stream: false, prompt: "hi" }],
    ["/infill", { model: "tiny", input_prefix: "def f(", input_suffix: "return x" }],
  ];

  it.each(requests)("%s from a client goes to the replica on another node", async (path, body) => {
    await testApp.app.request(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(forwards).toEqual([expect.stringMatching(/^tiny-r2 /)]);
  });

  it.each(requests)("%s forwarded by another node stays here", async (path, body) => {
    const response = await testApp.app.request(
      path,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      },
      { herdClusterForwarded: true },
    );
    expect(forwards).toEqual([]);
    expect(response.status).toBeGreaterThanOrEqual(400);
  });

  it.each([
    ["/api/generate", { model: "tiny", stream: false, prompt: "def f(", suffix: "return x" }, "/infill"],
    ["/v1/completions", { model: "tiny", prompt: "def f(", suffix: "return x" }, "/infill"],
    // stories260K has no chat template: Ollama completes its prompt as written.
    ["/api/generate", { model: "tiny", stream: false, prompt: "hi" }, "/v1/completions"],
  ])("%s with %j goes to the other node's %s", async (path, body, forwardedPath) => {
    await testApp.app.request(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(forwards).toEqual([`tiny-r2 ${forwardedPath}`]);
  });

  it("takes no direction from a client's x-herd-forwarded header", async () => {
    await testApp.app.request("/v1/completions", {
      method: "POST",
      headers: { "content-type": "application/json", "x-herd-forwarded": "1" },
      body: JSON.stringify({ model: "tiny", prompt: "hi" }),
    });
    expect(forwards).toEqual(["tiny-r2 /v1/completions"]);
  });
});
