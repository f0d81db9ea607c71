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
});
