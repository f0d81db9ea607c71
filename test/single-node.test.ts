import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeServerSentEvents } from "../src/util/sse.js";
import {
  HerdProcess,
  liveEngineProcesses,
  sharedModelPath,
  stopAllHerdProcesses,
  waitFor,
} from "./support/herd-process.js";

const greedy = { temperature: 0, max_tokens: 24 };

describe("one node serving stories260K through the OpenAI API", () => {
  let node: HerdProcess;

  beforeAll(async () => {
    node = await HerdProcess.start();
    const imported = await node.cli(["models", "import", sharedModelPath]);
    expect(imported.stderr).toBe("");
    expect(imported.stdout).toContain("imported stories260K");
    const loaded = await node.cli(["load", "stories260K", "--parallel", "2", "--ctx", "2048"]);
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(loaded.stdout).toContain("READY");
    await node.cli(["models", "import", sharedModelPath, "--name", "stories-embed"]);
    const embedLoad = await node.cli(["load", "stories-embed", "--embeddings", "--parallel", "1"]);
    expect(embedLoad.code, embedLoad.stderr).toBe(0);
  });
  afterAll(stopAllHerdProcesses);

  const post = (path: string, body: unknown, init: RequestInit = {}) =>
    fetch(`${node.url}${path}`, {
      method: "POST",
      body: typeof body === "string" ? body : JSON.stringify(body),
      ...init,
    });

  it("lists the model", async () => {
    const response = await fetch(`${node.url}/v1/models`);
    const body = (await response.json()) as { object: string; data: Array<{ id: string; object: string }> };
    expect(body.object).toBe("list");
    expect(body.data.map((model) => model.id)).toEqual(["stories-embed", "stories260K"]);
  });

  it("serves embeddings from an instance loaded with --embeddings", async () => {
    const response = await post("/v1/embeddings", {
      model: "stories-embed",
      input: ["Once upon a time", "Lily"],
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      object: string;
      data: Array<{ object: string; embedding: number[]; index: number }>;
    };
    expect(body.object).toBe("list");
    expect(body.data.map((item) => item.index)).toEqual([0, 1]);
    expect(body.data[0]!.embedding).toHaveLength(64);
    expect(body.data[0]!.embedding.every(Number.isFinite)).toBe(true);
  });

  it("explains how to get embeddings from an instance loaded without them", async () => {
    const response = await post("/v1/embeddings", { model: "stories260K", input: "hi" });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toContain("--embeddings");
  });

  it("serves the dashboard page at /", async () => {
    const response = await fetch(`${node.url}/`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("<title>herd</title>");
  });

  it("completes 'Once upon a time' greedily with the story about Lily", async () => {
    const response = await post("/v1/completions", {
      model: "stories260K",
      prompt: "Once upon a time",
      ...greedy,
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      choices: Array<{ text: string }>;
      model: string;
      usage: { completion_tokens: number };
    };
    expect(body.choices[0]!.text).toContain("Lily");
    expect(body.model).toBe("stories260K");
    expect(body.usage.completion_tokens).toBe(24);
  });

  it("streams chat chunks that concatenate to the non-streamed reply", async () => {
    const request = {
      model: "stories260K",
      messages: [{ role: "user", content: "Once upon a time" }],
      ...greedy,
    };
    const whole = (await (await post("/v1/chat/completions", request)).json()) as {
      choices: Array<{ message: { content: string } }>;
    };
    const response = await post("/v1/chat/completions", { ...request, stream: true });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    let streamed = "";
    let done = false;
    for await (const event of decodeServerSentEvents(response.body as unknown as AsyncIterable<Uint8Array>)) {
      if (event.data === "[DONE]") {
        done = true;
        continue;
      }
      const chunk = JSON.parse(event.data) as {
        object: string;
        choices: Array<{ delta: { content?: string | null } }>;
      };
      expect(chunk.object).toBe("chat.completion.chunk");
      streamed += chunk.choices[0]?.delta.content ?? "";
    }
    expect(done).toBe(true);
    expect(streamed.length).toBeGreaterThan(0);
    expect(streamed).toBe(whole.choices[0]!.message.content);
  });

  it("answers an unknown model with 404 in OpenAI's error shape", async () => {
    const response = await post("/v1/chat/completions", {
      model: "no-such-model",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: { message: string; type: string; code: string } };
    expect(body.error).toMatchObject({ type: "invalid_request_error", code: "model_not_found" });
    expect(body.error.message).toContain("no-such-model");
  });

  it("answers malformed JSON with 400 and keeps serving", async () => {
    const response = await post("/v1/chat/completions", '{"model":"stories260K","messages":[');
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { message: string; type: string } };
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toContain("not valid JSON");
    const next = await post("/v1/completions", {
      model: "stories260K",
      prompt: "Once upon a time",
      ...greedy,
    });
    expect(next.status).toBe(200);
  });

  it.each([
    ["messages missing", { model: "stories260K" }, "messages"],
    ["messages empty", { model: "stories260K", messages: [] }, "messages"],
    [
      "unknown role",
      { model: "stories260K", messages: [{ role: "robot", content: "x" }] },
      "messages.0.role",
    ],
    [
      "negative max_tokens",
      { model: "stories260K", messages: [{ role: "user", content: "x" }], max_tokens: -1 },
      "max_tokens",
    ],
    ["model not a string", { model: 7, messages: [{ role: "user", content: "x" }] }, "model"],
  ])("rejects a body with %s as 400 naming the field", async (_name, body, param) => {
    const response = await post("/v1/chat/completions", body);
    expect(response.status).toBe(400);
    const error = ((await response.json()) as { error: { param: string } }).error;
    expect(error.param).toBe(param);
  });

  it("cancels generation in the engine when the client disconnects mid-stream", async () => {
    const abort = new AbortController();
    const response = await post(
      "/v1/completions",
      {
        model: "stories260K",
        prompt: "Once upon a time",
        max_tokens: 200_000,
        ignore_eos: true,
        stream: true,
      },
      { signal: abort.signal },
    );
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    expect(await busySlots(node)).toBe(1);
    abort.abort();
    await waitFor(
      "the engine to free the slot",
      async () => ((await busySlots(node)) === 0 ? true : undefined),
      10_000,
    );
  });

  it("ends a stream it cannot continue with an error event when its engine dies mid-answer", async () => {
    // Log probabilities asked for by the client: herd does not carry such a reply over to another
    // engine (test/stream-failover.test.ts shows the replies it does carry over).
    const response = await post("/v1/completions", {
      model: "stories260K",
      prompt: "Once upon a time",
      max_tokens: 200_000,
      ignore_eos: true,
      logprobs: 1,
      stream: true,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const status = (await node.client.instances()).find((candidate) => candidate.model === "stories260K");
    const killedPid = status!.enginePid!;
    process.kill(killedPid, "SIGKILL");
    let text = "";
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const events = text.split("\n\n").filter((event) => event.startsWith("data: "));
    expect(JSON.parse(events.at(-1)!.slice(6))).toMatchObject({ error: { code: "engine_interrupted" } });
    await waitFor("the instance to be READY again", async () => {
      const [again] = (await node.client.instances()).filter(
        (candidate) => candidate.model === "stories260K",
      );
      return again?.state === "READY" && again.enginePid !== killedPid ? true : undefined;
    });
  });

  it("brings a killed engine back READY and serving", async () => {
    const before = (await node.client.instances()).find((status) => status.model === "stories260K");
    process.kill(before!.enginePid!, "SIGKILL");
    const after = await waitFor("the instance to be READY again", async () => {
      const status = (await node.client.instances()).find((candidate) => candidate.model === "stories260K");
      return status?.state === "READY" && status.enginePid !== before!.enginePid ? status : undefined;
    });
    expect(after.restarts).toBeGreaterThan(before!.restarts);
    const response = await post("/v1/completions", {
      model: "stories260K",
      prompt: "Once upon a time",
      ...greedy,
    });
    expect(((await response.json()) as { choices: Array<{ text: string }> }).choices[0]!.text).toContain(
      "Lily",
    );
  });

  it("leaves no llama-server running after herd stops", async () => {
    expect(await liveEngineProcesses(node.home)).toHaveLength(2);
    expect(await node.stop()).toBe(0);
    expect(await liveEngineProcesses(node.home)).toEqual([]);
  });
});

describe("a second Ctrl-C", () => {
  afterAll(stopAllHerdProcesses);

  it("stops the node at once, its engines too, while the first stop waits for an engine", async () => {
    const node = await HerdProcess.start();
    await node.cliEach([
      ["models", "import", sharedModelPath],
      ["load", "stories260K", "--parallel", "1"],
    ]);
    const engine = (await node.client.instances()).find((status) => status.model === "stories260K");
    // A stopped engine cannot take its SIGTERM: the first stop waits out its grace period for it.
    process.kill(engine!.enginePid!, "SIGSTOP");
    process.kill(node.pid, "SIGINT");
    await waitFor("the stop to begin", async () =>
      (await node.log()).includes("SIGINT: stopping herd") ? true : undefined,
    );
    expect(await node.stop()).toBe(1);
    expect(await node.log()).toContain("SIGINT again: stopping now");
    expect(await liveEngineProcesses(node.home)).toEqual([]);
  });
});

/** Slots of the node's only engine that are generating, read from llama-server's own /slots. */
async function busySlots(node: HerdProcess): Promise<number> {
  const status = (await node.client.instances()).find((candidate) => candidate.model === "stories260K");
  const key = (await readFile(join(node.home, "run", `${status!.id}.key`), "utf8")).trim();
  const response = await fetch(`http://127.0.0.1:${status!.enginePort}/slots`, {
    headers: { authorization: `Bearer ${key}` },
  });
  const slots = (await response.json()) as Array<{ is_processing: boolean }>;
  return slots.filter((slot) => slot.is_processing).length;
}
