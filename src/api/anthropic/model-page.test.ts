import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createTestApp } from "../test-app.js";
import { anthropicModelPage, ModelPageQuery, toAnthropicModel } from "./model-page.js";

const models = ["a", "b", "c", "d", "e"].map((id) => toAnthropicModel(id, 0));
const page = (query: Record<string, string>) => {
  const { data, ...rest } = anthropicModelPage(models, ModelPageQuery.parse(query));
  return { ids: data.map((model) => model.id), ...rest };
};

describe("anthropicModelPage", () => {
  it.each<[string, Record<string, string>, object]>([
    [
      "everything, by default",
      {},
      { ids: ["a", "b", "c", "d", "e"], has_more: false, first_id: "a", last_id: "e" },
    ],
    ["a first page", { limit: "2" }, { ids: ["a", "b"], has_more: true, first_id: "a", last_id: "b" }],
    ["the next page", { limit: "2", after_id: "b" }, { ids: ["c", "d"], has_more: true }],
    ["the last page", { limit: "2", after_id: "d" }, { ids: ["e"], has_more: false }],
    ["the page before", { limit: "2", before_id: "e" }, { ids: ["c", "d"], has_more: true }],
    ["the first page, backwards", { limit: "2", before_id: "c" }, { ids: ["a", "b"], has_more: false }],
    ["between two cursors", { after_id: "a", before_id: "e" }, { ids: ["b", "c", "d"], has_more: false }],
    ["an unknown cursor", { after_id: "zz" }, { ids: [], has_more: false, first_id: null, last_id: null }],
  ])("gives %s", (_name, query, expected) => {
    expect(page(query)).toMatchObject(expected);
  });

  it.each(["0", "1001", "two"])("refuses limit %s", (limit) => {
    expect(ModelPageQuery.safeParse({ limit }).success).toBe(false);
  });
});

describe("GET /v1/models for an Anthropic client", () => {
  const anthropic = { "anthropic-version": "2023-06-01", "x-api-key": "unused" };

  it("lists and gets models in Anthropic's shape, and answers errors in it", async () => {
    const testApp = await createTestApp();
    try {
      const storiesPath = fileURLToPath(
        new URL("../../../../shared/models/stories260K-f32.gguf", import.meta.url),
      );
      const imported = await testApp.app.request("/herd/v1/models/import", {
        method: "POST",
        body: JSON.stringify({ path: storiesPath }),
      });
      expect(imported.status).toBe(201);
      const list = await testApp.app.request("/v1/models?limit=5", { headers: anthropic });
      const body = (await list.json()) as { data: Array<{ created_at: string }> };
      expect(body).toEqual({
        data: [
          { type: "model", id: "stories260K", display_name: "stories260K", created_at: expect.any(String) },
        ],
        has_more: false,
        first_id: "stories260K",
        last_id: "stories260K",
      });
      expect(body.data[0]!.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      const one = await testApp.app.request("/v1/models/stories260K:latest", { headers: anthropic });
      expect(await one.json()).toEqual(body.data[0]);
      const unknown = await testApp.app.request("/v1/models/claude-x", { headers: anthropic });
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toEqual({
        type: "error",
        error: { type: "not_found_error", message: expect.stringContaining("claude-x") },
      });
      const badLimit = await testApp.app.request("/v1/models?limit=0", { headers: anthropic });
      expect(badLimit.status).toBe(400);
      expect(await badLimit.json()).toMatchObject({
        type: "error",
        error: { type: "invalid_request_error" },
      });
      const openAI = await testApp.app.request("/v1/models", { headers: { authorization: "Bearer k" } });
      expect(await openAI.json()).toMatchObject({
        object: "list",
        data: [{ id: "stories260K", object: "model" }],
      });
    } finally {
      await testApp.dispose();
    }
  });
});
