import { readFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HerdApiError } from "../src/client/herd-client.js";
import { findFreePort } from "../src/util/free-port.js";
import {
  HerdProcess,
  runCli,
  sharedModelPath,
  stopAllHerdProcesses,
  waitFor,
} from "./support/herd-process.js";

/** Runs `herd keys create` against `node` and returns the secret it printed. */
async function createKey(node: HerdProcess, args: string[]): Promise<string> {
  const created = await node.cli(["keys", "create", ...args]);
  expect(created.code, created.stderr).toBe(0);
  expect(created.stderr).toMatch(/created key [0-9a-f]{12}/);
  return created.stdout.trim();
}

/** Waits until `node` answers `/v1/models` with `status` for `key`; returns how long that took. */
async function waitForStatus(node: HerdProcess, key: string, status: number): Promise<number> {
  const started = Date.now();
  await waitFor(
    `${node.url} to answer ${status}`,
    async () => {
      const response = await fetch(`${node.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
      return response.status === status ? true : undefined;
    },
    10_000,
  );
  return Date.now() - started;
}

describe("API keys in a cluster", () => {
  let a: HerdProcess;
  let b: HerdProcess;
  let admin: string;
  let inference: string;
  const secrets: string[] = [];
  const events: string[] = [];
  const stopEvents = new AbortController();

  beforeAll(async () => {
    a = await HerdProcess.start({ args: ["--name", "a"] });
    const token = await a.client.joinToken();
    secrets.push(token);
    b = await HerdProcess.start({ args: ["--name", "b", "--join", token] });
    await waitFor("two live nodes", async () => {
      const view = await a.client.cluster();
      return view.nodes.filter((node) => node.state === "alive").length === 2 ? true : undefined;
    });
    const subscription = await a.client.subscribe(stopEvents.signal);
    void (async () => {
      for await (const event of subscription) events.push(JSON.stringify(event));
    })();
    // A loopback node with no key is open: this is how the first key is made.
    admin = await createKey(a, ["--name", "ops", "--scope", "admin"]);
    a.useApiKey(admin);
    b.useApiKey(admin);
    inference = await createKey(a, ["--name", "app"]);
    secrets.push(admin, inference);
    expect((await a.cli(["models", "import", sharedModelPath])).code).toBe(0);
    const loaded = await a.cli(["load", "stories260K", "--parallel", "2", "--ctx", "1024"]);
    expect(loaded.code, loaded.stderr).toBe(0);
  });
  afterAll(async () => {
    stopEvents.abort();
    await stopAllHerdProcesses();
  });

  it("asks for a key once one exists, with the scope the route needs", async () => {
    const without = await a.cli(["keys", "list"], { HERD_API_KEY: "" });
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/requires an API key/);
    const listed = await a.cli(["keys", "list"]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/ops\s+admin/);
    expect(listed.stdout).toMatch(/app\s+inference\s+600\s+1000000/);
    expect(listed.stdout).not.toContain(admin);
    const asInference = await a.cli(["ps"], { HERD_API_KEY: inference });
    expect(asInference.code).toBe(1);
    expect(asInference.stderr).toMatch(/scope 'inference'.*needs an 'admin' key/);
    const node = await a.client.node();
    expect(node.security).toMatchObject({ authRequired: true, insecureNoAuth: false, activeKeys: 2 });
  });

  it("serves the OpenAI API to a valid key on every node, forwarded requests included", async () => {
    for (const node of [a, b]) {
      const openai = new OpenAI({ baseURL: `${node.url}/v1`, apiKey: inference, maxRetries: 0 });
      const completion = await openai.completions.create({
        model: "stories260K",
        prompt: "Once upon a time",
        max_tokens: 16,
        temperature: 0,
      });
      expect(completion.choices[0]!.text).toContain("Lily");
      const anonymous = new OpenAI({ baseURL: `${node.url}/v1`, apiKey: "wrong", maxRetries: 0 });
      await expect(anonymous.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    }
  });

  it("refuses Anthropic and Ollama clients without a key in their own error shapes", async () => {
    const anthropic = new Anthropic({ baseURL: a.url, apiKey: "not-a-key", maxRetries: 0 });
    const refused = await anthropic.messages
      .create({ model: "stories260K", max_tokens: 8, messages: [{ role: "user", content: "hi" }] })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((refused as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: "error",
      error: { type: "authentication_error" },
    });
    const ollama = new Ollama({ host: a.url });
    const ollamaRefused = await ollama
      .chat({ model: "stories260K", messages: [{ role: "user", content: "hi" }] })
      .catch((error: unknown) => error);
    expect(ollamaRefused).toMatchObject({ status_code: 401, error: expect.stringMatching(/API key/) });
  });

  it("limits a key's requests per minute in all three protocols, with Retry-After", async () => {
    const limited = await createKey(a, ["--name", "tight", "--rpm", "3"]);
    secrets.push(limited);
    const openai = new OpenAI({ baseURL: `${a.url}/v1`, apiKey: limited, maxRetries: 0 });
    await openai.models.list();
    const anthropic = new Anthropic({ baseURL: a.url, apiKey: limited, maxRetries: 0 });
    // The Anthropic route may not exist on this node: anything but 429 means the limiter let it by.
    const first = await anthropic.models.list().catch((error: { status?: number }) => error);
    expect((first as { status?: number }).status).not.toBe(429);
    await openai.models.list();
    const openaiLimited = await openai.models.list().catch((error: unknown) => error);
    expect(openaiLimited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(
      Number((openaiLimited as InstanceType<typeof OpenAI.APIError>).headers?.get("retry-after")),
    ).toBeGreaterThan(0);
    const anthropicLimited = await anthropic.models.list().catch((error: unknown) => error);
    expect(anthropicLimited).toBeInstanceOf(Anthropic.RateLimitError);
    const ollama = new Ollama({ host: a.url, headers: { authorization: `Bearer ${limited}` } });
    const ollamaLimited = await ollama.list().catch((error: unknown) => error);
    expect(ollamaLimited).toMatchObject({
      status_code: 429,
      error: expect.stringMatching(/requests in a minute/),
    });
  });

  it("makes a key created on one node work on the other within seconds, and its revocation too", async () => {
    const created = await createKey(b, ["--name", "made-on-b"]);
    secrets.push(created);
    const arrivedMs = await waitForStatus(a, created, 200);
    const id = /^herd-([0-9a-f]{12})-/.exec(created)![1]!;
    const revoked = await a.cli(["keys", "revoke", id]);
    expect(revoked.stdout).toContain(`revoked ${id} (made-on-b)`);
    expect((await fetch(`${a.url}/v1/models`, { headers: { "x-api-key": created } })).status).toBe(401);
    const revokedMs = await waitForStatus(b, created, 401);
    console.log(`key reached the other node in ${arrivedMs} ms, its revocation in ${revokedMs} ms`);
    expect(arrivedMs).toBeLessThan(3000);
    expect(revokedMs).toBeLessThan(3000);
  });

  it("gives a node that joins later every key and every revocation", async () => {
    const token = await a.client.joinToken();
    const c = await HerdProcess.start({ args: ["--name", "c", "--join", token], apiKey: admin });
    await waitForStatus(c, inference, 200);
    const keys = await c.client.keys();
    expect(keys.map((key) => key.name).sort()).toEqual(["app", "made-on-b", "ops", "tight"]);
    expect(keys.find((key) => key.name === "made-on-b")?.revokedAt).toBeDefined();
  });

  it("never writes a key, the join token or the cluster key into a log or the event stream", async () => {
    await fetch(`${a.url}/v1/models`, { headers: { authorization: `Bearer ${admin}x` } });
    for (const node of [a, b]) {
      const identity = JSON.parse(await readFile(join(node.home, "node.json"), "utf8")) as {
        clusterKey: string;
      };
      const log = await node.log();
      expect(log).toContain("API key");
      for (const secret of [...secrets, identity.clusterKey]) {
        expect(log).not.toContain(secret.slice(-30));
        expect(events.join("\n")).not.toContain(secret.slice(-30));
      }
    }
    expect(events.length).toBeGreaterThan(0);
  });
});

describe("an API on a network address", () => {
  afterAll(stopAllHerdProcesses);

  it("is refused without a key, with how to make one; works once a key is written offline", async () => {
    const refused = await HerdProcess.start({
      args: ["--host", "0.0.0.0", "--cluster-host", "127.0.0.1"],
    }).catch((error: Error) => error);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toMatch(/refusing to serve the API on 0\.0\.0\.0 without an API key/);
    const home = /herd keys create --scope admin --home (\S+)/.exec((refused as Error).message)![1]!;

    // No node runs for this home: the key goes straight into it.
    const created = await runCli(["keys", "create", "--scope", "admin", "--home", home], {
      ...process.env,
      HERD_URL: `http://127.0.0.1:${await findFreePort()}`,
    });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain(`wrote the key to ${home}/state/api-keys.json`);
    const key = created.stdout.trim();

    const node = await HerdProcess.start({
      home,
      args: ["--host", "0.0.0.0", "--cluster-host", "127.0.0.1"],
    });
    await expect(node.client.node()).rejects.toMatchObject({ status: 401 } satisfies Partial<HerdApiError>);
    node.useApiKey(key);
    expect((await node.client.node()).security).toMatchObject({ authRequired: true, exposed: true });
  });

  it("refuses oversized headers, and closes connections whose headers never finish", async () => {
    const node = await HerdProcess.start();
    const huge = await fetch(`${node.url}/v1/models`, { headers: { "x-filler": "a".repeat(20_000) } });
    expect(huge.status).toBe(431);
    const started = Date.now();
    const closedAfterMs = await new Promise<number>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port: node.port }, () => {
        socket.write("GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Slow: ");
      });
      socket.on("data", () => {});
      socket.once("close", () => resolve(Date.now() - started));
      socket.once("error", () => {});
    });
    expect(closedAfterMs).toBeGreaterThan(9_000);
    expect(closedAfterMs).toBeLessThan(15_000);
    // The node still serves.
    expect((await fetch(`${node.url}/v1/models`)).status).toBe(200);
  });

  it("serves without keys under --insecure-no-auth, and says so loudly", async () => {
    const node = await HerdProcess.start({
      args: ["--host", "0.0.0.0", "--cluster-host", "127.0.0.1", "--insecure-no-auth"],
    });
    expect((await node.client.node()).security).toMatchObject({ authRequired: false, insecureNoAuth: true });
    expect(await node.log()).toMatch(/"level":40.*INSECURE: --insecure-no-auth/);
  });
});
