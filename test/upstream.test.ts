import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeServerSentEvents } from "../src/util/sse.js";
import { HerdProcess, sharedModelPath, stopAllHerdProcesses } from "./support/herd-process.js";

interface Served {
  status: number;
  text: string;
  /** The local instance that served it, or undefined. */
  instance: string | null;
  /** The upstream that served it, or undefined. */
  upstream: string | null;
}

async function complete(
  node: HerdProcess,
  index: number,
  headers: Record<string, string> = {},
): Promise<Served> {
  const response = await fetch(`${node.url}/v1/completions`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      model: "stories260K",
      prompt: `Tale ${index}: a cat`,
      max_tokens: 64,
      temperature: 0,
    }),
  });
  const body = (await response.json()) as { choices?: Array<{ text: string }> };
  return {
    status: response.status,
    text: body.choices?.[0]?.text ?? "",
    instance: response.headers.get("x-herd-instance"),
    upstream: response.headers.get("x-herd-upstream"),
  };
}

/** Requests the cloud's instance has been sent so far (its head counts them). */
async function cloudServed(cloud: HerdProcess): Promise<number> {
  return (await cloud.client.cluster()).instances.reduce((sum, instance) => sum + instance.served, 0);
}

describe("an upstream (a second herd on loopback playing the cloud)", () => {
  let cloud: HerdProcess;
  let local: HerdProcess;

  beforeAll(async () => {
    // Two separate clusters: the cloud is reached only as an upstream, over its OpenAI API.
    [cloud, local] = await Promise.all([
      HerdProcess.start({ args: ["--name", "cloud"] }),
      HerdProcess.start({ args: ["--name", "local"], env: { CLOUD_KEY: "sk-test-cloud" } }),
    ]);
    for (const [node, parallel] of [
      [cloud, "4"],
      [local, "1"],
    ] as const) {
      expect((await node.cli(["models", "import", sharedModelPath])).code).toBe(0);
      const loaded = await node.cli(["load", "stories260K", "--parallel", parallel]);
      expect(loaded.code, loaded.stderr).toBe(0);
    }
    const added = await local.cli([
      "upstream",
      "add",
      "cloud",
      `${cloud.url}/v1`,
      "--key-env",
      "CLOUD_KEY",
      "--models",
      "stories260K",
      "--route",
      "local-then-upstream",
    ]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(
      /cloud\s+openai\s+http:\/\/127\.0\.0\.1:\d+\/v1\s+\$CLOUD_KEY\s+stories260K/,
    );
    expect(added.stdout).toMatch(/stories260K\s+local-then-upstream/);
  });
  afterAll(stopAllHerdProcesses);

  it("takes the overflow under local-then-upstream when the local instance is full", async () => {
    const before = await cloudServed(cloud);
    const served = await Promise.all([0, 1, 2, 3].map((index) => complete(local, index)));
    expect(served.every((result) => result.status === 200 && result.text.length > 0)).toBe(true);
    expect(served.filter((result) => result.instance !== null).length).toBeGreaterThanOrEqual(1);
    const overflow = served.filter((result) => result.upstream === "cloud");
    expect(overflow.length).toBeGreaterThanOrEqual(1);
    // The same model on both sides: the cloud's greedy answer is the local one.
    for (const result of overflow) {
      const again = await complete(local, served.indexOf(result));
      expect(again.instance).not.toBeNull();
      expect(result.text).toBe(again.text);
    }
    expect(await cloudServed(cloud)).toBe(before + overflow.length);
  });

  it("never receives a request that says x-herd-policy: local-only", async () => {
    const before = await cloudServed(cloud);
    const served = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((index) => complete(local, index, { "x-herd-policy": "local-only" })),
    );
    expect(served.every((result) => result.status === 200 && result.upstream === null)).toBe(true);
    expect(await cloudServed(cloud)).toBe(before);
    const refused = await complete(local, 0, { "x-herd-policy": "somewhere" });
    expect(refused.status).toBe(400);
  });

  it("never receives anything under the route local-only", async () => {
    expect((await local.cli(["route", "stories260K", "local-only"])).code).toBe(0);
    const before = await cloudServed(cloud);
    const served = await Promise.all([0, 1, 2, 3, 4, 5].map((index) => complete(local, index)));
    expect(served.every((result) => result.status === 200 && result.upstream === null)).toBe(true);
    expect(await cloudServed(cloud)).toBe(before);
  });

  it("passes the upstream's stream through unchanged under the route upstream", async () => {
    expect((await local.cli(["route", "stories260K", "upstream"])).code).toBe(0);
    const request = {
      model: "stories260K",
      messages: [{ role: "user", content: "Tell me a story" }],
      max_tokens: 24,
      temperature: 0,
      stream: true,
    };
    const streamed = async (url: string) => {
      const response = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        body: JSON.stringify(request),
      });
      expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
      const parts: string[] = [];
      for await (const event of decodeServerSentEvents(
        response.body as unknown as AsyncIterable<Uint8Array>,
      )) {
        if (event.data === "[DONE]") {
          parts.push("[DONE]");
          break;
        }
        const chunk = JSON.parse(event.data) as { choices: Array<{ delta: { content?: string } }> };
        parts.push(chunk.choices[0]?.delta.content ?? "");
      }
      return { parts, upstream: response.headers.get("x-herd-upstream") };
    };
    const through = await streamed(local.url);
    const direct = await streamed(cloud.url);
    expect(through.upstream).toBe("cloud");
    expect(through.parts.at(-1)).toBe("[DONE]");
    expect(through.parts).toEqual(direct.parts);
    // Listed by the API like any model, and shown by the CLI with its route.
    const listed = await local.cli(["upstream", "list"]);
    expect(listed.stdout).toMatch(/stories260K\s+upstream/);
  });

  it("brings the upstream's stream to Anthropic and Ollama clients as the cloud's own adapters do", async () => {
    // Still under the route upstream: the local node's adapters read the cloud's OpenAI stream.
    const anthropic = async (url: string) => {
      const response = await fetch(`${url}/v1/messages`, {
        method: "POST",
        headers: { "anthropic-version": "2023-06-01" },
        body: JSON.stringify({
          model: "stories260K",
          max_tokens: 24,
          temperature: 0,
          stream: true,
          messages: [{ role: "user", content: "Tell me a story" }],
        }),
      });
      const events: string[] = [];
      let text = "";
      for await (const event of decodeServerSentEvents(
        response.body as unknown as AsyncIterable<Uint8Array>,
      )) {
        events.push(event.event ?? "");
        const data = JSON.parse(event.data) as { delta?: { type?: string; text?: string } };
        if (data.delta?.type === "text_delta") text += data.delta.text;
      }
      return { events, text, upstream: response.headers.get("x-herd-upstream") };
    };
    const ollama = async (url: string) => {
      const response = await fetch(`${url}/api/chat`, {
        method: "POST",
        body: JSON.stringify({
          model: "stories260K",
          messages: [{ role: "user", content: "Tell me a story" }],
          options: { temperature: 0, num_predict: 24 },
        }),
      });
      const lines = (await response.text())
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line));
      return {
        parts: lines.map((line: { message?: { content: string }; done: boolean }) => [
          line.message?.content ?? "",
          line.done,
        ]),
        upstream: response.headers.get("x-herd-upstream"),
      };
    };
    const [anthropicThrough, anthropicDirect] = [await anthropic(local.url), await anthropic(cloud.url)];
    expect(anthropicThrough.upstream).toBe("cloud");
    expect(anthropicThrough.events).toEqual(anthropicDirect.events);
    expect(anthropicThrough.events.at(-1)).toBe("message_stop");
    expect(anthropicThrough.text.length).toBeGreaterThan(0);
    expect(anthropicThrough.text).toBe(anthropicDirect.text);
    const [ollamaThrough, ollamaDirect] = [await ollama(local.url), await ollama(cloud.url)];
    expect(ollamaThrough.upstream).toBe("cloud");
    expect(ollamaThrough.parts).toEqual(ollamaDirect.parts);
    expect(ollamaThrough.parts.at(-1)?.[1]).toBe(true);
  });

  it("keeps every request of a local-only API key in the cluster, whatever the route", async () => {
    // Still under the route upstream. The first key is made while the loopback node is open.
    const admin = await local.cli(["keys", "create", "--scope", "admin", "--name", "ops"]);
    expect(admin.code, admin.stderr).toBe(0);
    const adminKey = admin.stdout.trim();
    const lab = await local.cli(["keys", "create", "--name", "lab", "--policy", "local-only"], {
      HERD_API_KEY: adminKey,
    });
    expect(lab.code, lab.stderr).toBe(0);
    expect(lab.stderr).toContain("local-only");
    const labKey = lab.stdout.trim();
    const listed = await local.cli(["keys", "list"], { HERD_API_KEY: adminKey });
    expect(listed.stdout).toMatch(/lab\s+inference\s+\S+\s+\S+\s+local-only/);

    const before = await cloudServed(cloud);
    const served = await Promise.all(
      [0, 1, 2, 3].map((index) => complete(local, index, { authorization: `Bearer ${labKey}` })),
    );
    expect(served.every((result) => result.status === 200 && result.upstream === null)).toBe(true);
    expect(await cloudServed(cloud)).toBe(before);
    // The same route with a key that may leave the cluster goes to the upstream.
    const out = await complete(local, 0, { authorization: `Bearer ${adminKey}` });
    expect(out.upstream).toBe("cloud");
    // A request cannot loosen its key's policy.
    const loosened = await complete(local, 1, { authorization: `Bearer ${labKey}`, "x-herd-policy": "any" });
    expect(loosened.upstream).toBeNull();
    expect(await cloudServed(cloud)).toBe(before + 1);
  });
});
