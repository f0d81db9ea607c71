import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Hono } from "hono";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyDesiredChange } from "../cluster/apply-desired-change.js";
import { EngineQuirks } from "../engine/engine-quirks.js";
import { Router } from "../inference/router.js";
import { ModelStore } from "../models/model-store.js";
import type { DesiredChange, DesiredState } from "../protocol/cluster.js";
import { EngineUnavailableError } from "../protocol/errors.js";
import type { NodeEvent } from "../protocol/events.js";
import { NodeId } from "../protocol/ids.js";
import { silentLogger } from "../util/logger.js";
import { type DesiredStateSource, LocalInstances } from "../worker/local-instances.js";
import { LocalShards } from "../worker/local-shards.js";
import { createApp } from "./app.js";

const storiesPath = fileURLToPath(new URL("../../../shared/models/stories260K-f32.gguf", import.meta.url));

const engineMissing = new EngineUnavailableError(
  "no llama-server in unit tests",
  "run 'herd engine build' to build one",
);

let directory: string;
let storeDirectory: string;
let instances: LocalInstances;
let events: NodeEvent[];
let app: Hono;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "herd-app-"));
  storeDirectory = join(directory, "models");
  events = [];
  const models = new ModelStore(storeDirectory);
  instances = new LocalInstances({
    nodeId: NodeId.parse("node-under-test"),
    cluster: new DesiredStateInMemory(),
    shards: new LocalShards({
      nodeId: NodeId.parse("node-under-test"),
      engine: async () => {
        throw engineMissing;
      },
      home: directory,
      logDirectory: join(directory, "logs"),
      runDirectory: join(directory, "run"),
      logger: silentLogger(),
      onChange: () => {},
      directHost: "127.0.0.1",
    }),
    clusterKey: Buffer.alloc(32),
    endpointsOf: () => [],
    rpcServerOf: async () => undefined,
    logDirectory: join(directory, "logs"),
    runDirectory: join(directory, "run"),
    models,
    // No engine process starts in unit tests; only paths that never reach one are tested here.
    engine: async () => {
      throw engineMissing;
    },
    quirks: new EngineQuirks(join(directory, "quirks.json")),
    logger: silentLogger(),
    publish: (event) => events.push(event),
  });
  app = createApp({
    models,
    instances,
    router: new Router(models, instances),
    logger: silentLogger(),
    engineReport: async () => {
      throw engineMissing;
    },
    synthesize: async () => {
      throw engineMissing;
    },
    subscribe: () => () => {},
    forwardToNode: async () => {
      throw new Error("no other nodes in this test");
    },
    version: "0.0.0-test",
    startedAt: new Date(),
    cluster: {
      view: () => {
        throw new Error("no cluster in this test");
      },
      joinToken: () => "herd1.test",
    },
  });
});

afterEach(async () => {
  await instances.dispose();
  await rm(directory, { recursive: true, force: true });
});

function post(path: string, body: unknown, contentType: string | null = "application/json") {
  return app.request(path, {
    method: "POST",
    body: typeof body === "string" || body === undefined ? body : JSON.stringify(body),
    headers: contentType === null ? {} : { "content-type": contentType },
  });
}

async function importModel(body: { path: string; name?: string }): Promise<Response> {
  return post("/herd/v1/models/import", body);
}

/** The OpenAI error body, with `message` matched by a pattern. */
function errorBody(type: string, code: string, param: string | null, message: RegExp = /./) {
  return { error: { message: expect.stringMatching(message), type, code, param } };
}

describe("GET /v1/models", () => {
  it("lists no models in a new store", async () => {
    const response = await app.request("/v1/models");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ object: "list", data: [] });
  });

  it("lists imported models in OpenAI's shape, by name", async () => {
    const before = Math.floor(Date.now() / 1000);
    expect((await importModel({ path: storiesPath, name: "tiny" })).status).toBe(201);
    expect((await importModel({ path: storiesPath })).status).toBe(201);
    const after = Math.ceil(Date.now() / 1000);

    const response = await app.request("/v1/models");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await response.json()) as { data: Array<{ created: number }> };
    expect(body).toEqual({
      object: "list",
      data: [
        { id: "stories260K", object: "model", created: expect.any(Number), owned_by: "herd" },
        { id: "tiny", object: "model", created: expect.any(Number), owned_by: "herd" },
      ],
    });
    for (const model of body.data) {
      expect(model.created).toBeGreaterThanOrEqual(before);
      expect(model.created).toBeLessThanOrEqual(after);
    }
  });

  it("answers one model by name, and 404 model_not_found for an unknown one", async () => {
    await importModel({ path: storiesPath });
    const known = await app.request("/v1/models/stories260K");
    expect(known.status).toBe(200);
    expect(await known.json()).toMatchObject({ id: "stories260K", object: "model", owned_by: "herd" });

    const unknown = await app.request("/v1/models/gpt-9");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual(errorBody("invalid_request_error", "model_not_found", "model"));
  });
});

const user = [{ role: "user", content: "Once upon a time" }];
const chat = (fields: Record<string, unknown>) => ({ model: "stories260K", messages: user, ...fields });

const malformed: Array<{
  path: string;
  name: string;
  body: unknown;
  contentType?: string | null;
  param: string | null;
  message?: RegExp;
}> = [
  {
    path: "/v1/chat/completions",
    name: "broken JSON",
    body: '{"model": "stories260K",',
    param: null,
    message: /not valid JSON/,
  },
  { path: "/v1/chat/completions", name: "an empty body", body: undefined, param: null, message: /empty/ },
  { path: "/v1/chat/completions", name: "only whitespace", body: " \n ", param: null, message: /empty/ },
  {
    path: "/v1/chat/completions",
    name: "no body and no Content-Type",
    body: undefined,
    contentType: null,
    param: null,
    message: /empty/,
  },
  { path: "/v1/chat/completions", name: "a JSON array", body: [chat({})], param: null, message: /object/ },
  { path: "/v1/chat/completions", name: "a JSON string", body: '"hello"', param: null },
  { path: "/v1/chat/completions", name: "JSON null", body: "null", param: null },
  { path: "/v1/chat/completions", name: "a number as model", body: chat({ model: 7 }), param: "model" },
  { path: "/v1/chat/completions", name: "no model", body: { messages: user }, param: "model" },
  { path: "/v1/chat/completions", name: "an empty model", body: chat({ model: "" }), param: "model" },
  { path: "/v1/chat/completions", name: "no messages", body: { model: "stories260K" }, param: "messages" },
  {
    path: "/v1/chat/completions",
    name: "a string as messages",
    body: chat({ messages: "hello" }),
    param: "messages",
  },
  {
    path: "/v1/chat/completions",
    name: "empty messages",
    body: chat({ messages: [] }),
    param: "messages",
    message: /at least one message/,
  },
  {
    path: "/v1/chat/completions",
    name: "an unknown role",
    body: chat({ messages: [...user, { role: "wizard", content: "hi" }] }),
    param: "messages.1.role",
  },
  {
    path: "/v1/chat/completions",
    name: "a number as content",
    body: chat({ messages: [{ role: "user", content: 42 }] }),
    param: "messages.0.content",
  },
  {
    path: "/v1/chat/completions",
    name: "negative max_tokens",
    body: chat({ max_tokens: -1 }),
    param: "max_tokens",
  },
  {
    path: "/v1/chat/completions",
    name: "zero max_tokens",
    body: chat({ max_tokens: 0 }),
    param: "max_tokens",
  },
  {
    path: "/v1/chat/completions",
    name: "huge max_tokens",
    body: chat({ max_tokens: 10_000_000 }),
    param: "max_tokens",
  },
  {
    path: "/v1/chat/completions",
    name: "non-integer max_tokens",
    body: chat({ max_tokens: 1.5 }),
    param: "max_tokens",
  },
  {
    path: "/v1/chat/completions",
    name: "max_tokens as a string",
    body: chat({ max_tokens: "100" }),
    param: "max_tokens",
  },
  {
    path: "/v1/chat/completions",
    name: "negative max_completion_tokens",
    body: chat({ max_completion_tokens: -5 }),
    param: "max_completion_tokens",
  },
  {
    path: "/v1/chat/completions",
    name: "temperature above 2",
    body: chat({ temperature: 2.5 }),
    param: "temperature",
  },
  {
    path: "/v1/chat/completions",
    name: "negative temperature",
    body: chat({ temperature: -0.1 }),
    param: "temperature",
  },
  { path: "/v1/chat/completions", name: "top_p above 1", body: chat({ top_p: 1.5 }), param: "top_p" },
  {
    path: "/v1/chat/completions",
    name: "n=2",
    body: chat({ n: 2 }),
    param: "n",
    message: /one choice per request/,
  },
  {
    path: "/v1/chat/completions",
    name: "stream as a string",
    body: chat({ stream: "yes" }),
    param: "stream",
  },
  {
    path: "/v1/chat/completions",
    name: "17 stop sequences",
    body: chat({ stop: Array.from({ length: 17 }, (_, index) => `stop${index}`) }),
    param: "stop",
  },
  {
    path: "/v1/chat/completions",
    name: "Content-Type text/xml",
    body: chat({}),
    contentType: "text/xml",
    param: null,
    message: /unsupported Content-Type 'text\/xml'/,
  },
  {
    path: "/v1/chat/completions",
    name: "Content-Type multipart/form-data",
    body: chat({}),
    contentType: "multipart/form-data; boundary=x",
    param: null,
    message: /unsupported Content-Type/,
  },
  {
    path: "/v1/completions",
    name: "broken JSON",
    body: "{prompt: 'x'}",
    param: null,
    message: /not valid JSON/,
  },
  { path: "/v1/completions", name: "no prompt", body: { model: "stories260K" }, param: "prompt" },
  {
    path: "/v1/completions",
    name: "an empty prompt list",
    body: { model: "stories260K", prompt: [] },
    param: "prompt",
  },
  {
    path: "/v1/completions",
    name: "a number as prompt",
    body: { model: "stories260K", prompt: 42 },
    param: "prompt",
  },
  {
    path: "/v1/completions",
    name: "a negative token",
    body: { model: "stories260K", prompt: [1, -2] },
    param: "prompt.1",
  },
  { path: "/v1/completions", name: "no model", body: { prompt: "Once" }, param: "model" },
  {
    path: "/v1/completions",
    name: "non-integer max_tokens",
    body: { model: "stories260K", prompt: "Once", max_tokens: 2.5 },
    param: "max_tokens",
  },
  {
    path: "/v1/completions",
    name: "n=2",
    body: { model: "stories260K", prompt: "Once", n: 2 },
    param: "n",
  },
  {
    path: "/v1/completions",
    name: "Content-Type text/xml",
    body: { model: "stories260K", prompt: "Once" },
    contentType: "text/xml",
    param: null,
    message: /unsupported Content-Type/,
  },
  { path: "/v1/embeddings", name: "an empty body", body: undefined, param: null, message: /empty/ },
  { path: "/v1/embeddings", name: "a JSON array", body: ["hello"], param: null },
  { path: "/v1/embeddings", name: "no input", body: { model: "stories260K" }, param: "input" },
  {
    path: "/v1/embeddings",
    name: "an empty input",
    body: { model: "stories260K", input: "" },
    param: "input",
  },
  {
    path: "/v1/embeddings",
    name: "an empty input list",
    body: { model: "stories260K", input: [] },
    param: "input",
  },
  { path: "/v1/embeddings", name: "a null model", body: { model: null, input: "x" }, param: "model" },
  {
    path: "/v1/embeddings",
    name: "an unknown encoding_format",
    body: { model: "stories260K", input: "x", encoding_format: "hex" },
    param: "encoding_format",
  },
  {
    path: "/v1/embeddings",
    name: "Content-Type text/xml",
    body: { model: "stories260K", input: "x" },
    contentType: "text/xml",
    param: null,
    message: /unsupported Content-Type/,
  },
];

const wellFormed = [
  { path: "/v1/chat/completions", body: { messages: user, max_tokens: 8, temperature: 0 } },
  { path: "/v1/completions", body: { prompt: "Once upon a time", max_tokens: 8 } },
  { path: "/v1/embeddings", body: { input: ["Once upon a time"] } },
];

describe("OpenAI inference routes", () => {
  beforeEach(async () => {
    expect((await importModel({ path: storiesPath })).status).toBe(201);
  });

  it.each(malformed)("$path rejects $name with 400 naming the field", async (request) => {
    const response = await post(request.path, request.body, request.contentType);
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual(
      errorBody("invalid_request_error", "invalid_value", request.param, request.message),
    );
  });

  it.each(wellFormed)("$path answers 404 model_not_found for an unknown model", async ({ path, body }) => {
    const response = await post(path, { model: "gpt-9", ...body });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual(
      errorBody("invalid_request_error", "model_not_found", "model", /model 'gpt-9' does not exist/),
    );
  });

  it.each(wellFormed)(
    "$path answers 503 model_not_loaded for a model no instance serves",
    async ({ path, body }) => {
      const response = await post(path, { model: "stories260K", ...body });
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual(
        errorBody("service_unavailable", "model_not_loaded", "model", /run 'herd load stories260K'/),
      );
    },
  );

  it.each([
    { name: "curl's default form encoding", contentType: "application/x-www-form-urlencoded" },
    { name: "text/plain", contentType: "text/plain" },
    { name: "JSON with a charset", contentType: "application/json; charset=utf-8" },
    { name: "a +json type", contentType: "application/vnd.api+json" },
  ])("accepts a JSON body sent as $name", async ({ contentType }) => {
    const response = await post("/v1/completions", { model: "stories260K", prompt: "Once" }, contentType);
    // Past validation, the request reaches the router, which finds no instance.
    expect(response.status).toBe(503);
  });
});

describe("POST /herd/v1/models/import", () => {
  it("registers a GGUF file and answers its profile", async () => {
    const response = await importModel({ path: storiesPath });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({
      name: "stories260K",
      source: storiesPath,
      architecture: "llama",
      layerCount: 5,
      sizeBytes: 1185376,
    });
  });

  it.each([
    { name: "a text file", content: "this is not a model\n" },
    { name: "an empty file", content: "" },
  ])("answers 422 for $name and registers nothing", async ({ content }) => {
    const path = join(directory, "notes.gguf");
    await writeFile(path, content);
    const response = await importModel({ path });
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual(
      errorBody("invalid_request_error", "invalid_model_file", "path", /not a readable GGUF file/),
    );
    expect(await (await app.request("/v1/models")).json()).toEqual({ object: "list", data: [] });
    expect(await readdir(storeDirectory).catch(() => [])).toEqual([]);
  });

  it("answers 422 for a missing file", async () => {
    const response = await importModel({ path: join(directory, "missing.gguf") });
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual(
      errorBody("invalid_request_error", "invalid_model_file", "path", /no such file/),
    );
  });

  it("answers 409 conflict when the name is taken, and keeps the first model", async () => {
    expect((await importModel({ path: storiesPath })).status).toBe(201);
    const response = await importModel({ path: storiesPath });
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual(
      errorBody("invalid_request_error", "conflict", null, /already exists/),
    );
    expect(await (await app.request("/v1/models")).json()).toMatchObject({ data: [{ id: "stories260K" }] });
  });

  it("answers 400 naming an unknown field", async () => {
    const response = await post("/herd/v1/models/import", { path: storiesPath, link: true });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(
      errorBody("invalid_request_error", "invalid_value", null, /"link"/),
    );
    expect(await readdir(storeDirectory).catch(() => [])).toEqual([]);
  });
});

describe("unknown URLs", () => {
  it.each([
    { method: "GET", path: "/v1/nothing" },
    { method: "POST", path: "/v2/chat/completions" },
    { method: "GET", path: "/v1/chat/completions" },
    { method: "DELETE", path: "/herd/v1/instances" },
  ])("answer 404 in the OpenAI error shape for $method $path", async ({ method, path }) => {
    const response = await app.request(path, { method });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: {
        message: `no route for ${method} ${path}`,
        type: "invalid_request_error",
        code: "unknown_url",
        param: null,
      },
    });
  });
});

describe("POST /herd/v1/instances", () => {
  beforeEach(async () => {
    expect((await importModel({ path: storiesPath })).status).toBe(201);
  });

  it("answers 503 engine_unavailable without an engine, and leaves no instance", async () => {
    // Twice: a failed load must not leave a half-made instance that makes the retry a conflict.
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await post("/herd/v1/instances", { model: "stories260K" });
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual(
        errorBody("service_unavailable", "engine_unavailable", null, /herd engine build/),
      );
    }
    expect(await (await app.request("/herd/v1/instances")).json()).toEqual({ instances: [] });
    expect(instances.list()).toEqual([]);
    expect(events).toEqual([]);
    const stillNotLoaded = await post("/v1/completions", { model: "stories260K", prompt: "Once" });
    expect(stillNotLoaded.status).toBe(503);
    expect(await stillNotLoaded.json()).toMatchObject({ error: { code: "model_not_loaded" } });
  });

  it.each([
    {
      name: "an unknown model",
      body: { model: "gpt-9" },
      status: 404,
      code: "model_not_found",
      param: "model",
    },
    {
      name: "zero parallel slots",
      body: { model: "stories260K", parallel: 0 },
      status: 400,
      code: "invalid_value",
      param: "parallel",
    },
    {
      name: "a context size smaller than the slots",
      body: { model: "stories260K", contextSize: 16, parallel: 32 },
      status: 400,
      code: "invalid_value",
      param: "contextSize",
    },
  ])("answers $status for $name before looking for an engine", async ({ body, status, code, param }) => {
    const response = await post("/herd/v1/instances", body);
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ error: { code, param } });
    expect(instances.list()).toEqual([]);
  });
});

/** The desired state of a node alone, kept in memory: what a coordinator with no peers does. */
class DesiredStateInMemory implements DesiredStateSource {
  desiredState: DesiredState = { epoch: 0, writtenBy: null, instances: [], upstreams: [], routes: {} };
  private readonly listeners = new Set<(state: DesiredState) => void>();

  async changeDesired(change: DesiredChange): Promise<DesiredState> {
    this.desiredState = {
      ...applyDesiredChange(this.desiredState, change),
      epoch: this.desiredState.epoch + 1,
      writtenBy: null,
    };
    for (const listener of this.listeners) listener(this.desiredState);
    return this.desiredState;
  }

  onDesiredState(listener: (state: DesiredState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
