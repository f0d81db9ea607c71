import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeServerSentEvents } from "../src/util/sse.js";
import { HerdProcess, startCluster, stopAllHerdProcesses, waitFor } from "./support/herd-process.js";

/** One request of the client loop, as the client saw it. */
interface Reply {
  at: number;
  ok: boolean;
  /** `x-herd-model`: the model that served the alias. */
  served: string | null;
  problem?: string;
}

/** Asks for `coder` and checks the reply: a completion, the alias in `model`, the entry in the header. */
async function askCoder(node: HerdProcess): Promise<Reply> {
  try {
    const response = await fetch(`${node.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "coder", prompt: "Once upon a time", max_tokens: 4, temperature: 0 }),
      signal: AbortSignal.timeout(90_000),
    });
    const text = await response.text();
    const served = response.headers.get("x-herd-model");
    let body: { model?: string; choices?: Array<{ text?: unknown }> } | undefined;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const ok =
      response.status === 200 &&
      body?.model === "coder" &&
      typeof body.choices?.[0]?.text === "string" &&
      (served === "big" || served === "small");
    return {
      at: Date.now(),
      ok,
      served,
      problem: ok ? undefined : `${response.status} ${served} ${text.slice(0, 300)}`,
    };
  } catch (error) {
    return { at: Date.now(), ok: false, served: null, problem: String(error) };
  }
}

/** Asks `node` for `coder` one request after another until the returned function is called. */
function clientLoop(node: HerdProcess): { replies: Reply[]; stop: () => Promise<void> } {
  const replies: Reply[] = [];
  const stop = new AbortController();
  const loop = (async () => {
    while (!stop.signal.aborted) {
      const reply = await askCoder(node);
      replies.push(reply);
      if (!reply.ok) await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    replies,
    stop: async () => {
      stop.abort();
      await loop;
    },
  };
}

/** The longest time between two successful replies around `[from, to]`. */
function longestGap(replies: Reply[], from: number, to: number): number {
  const successes = replies.filter((reply) => reply.ok).map((reply) => reply.at);
  let longest = 0;
  for (let index = 1; index < successes.length; index++) {
    const [before, after] = [successes[index - 1]!, successes[index]!];
    if (after >= from && before <= to) longest = Math.max(longest, after - before);
  }
  return longest;
}

const synth = (node: HerdProcess, name: string, layers: string, embedding: string, heads: string) =>
  node.cli([
    "models",
    "synth",
    "--name",
    name,
    "--layers",
    layers,
    "--embedding",
    embedding,
    "--heads",
    heads,
  ]);

describe("an alias kept loaded while a node leaves and returns", () => {
  let a: HerdProcess;
  let b: HerdProcess;

  beforeAll(async () => {
    // 900 MiB each: big (954 MiB planned) needs both nodes, small (556 MiB) fits on either.
    [a, b] = (await startCluster(["a", "b"], ["--memory-limit", "900M"])) as [HerdProcess, HerdProcess];
    for (const [name, layers, embedding, heads] of [
      ["big", "8", "1024", "16"],
      ["small", "2", "256", "4"],
    ] as const) {
      const made = await synth(a, name, layers, embedding, heads);
      expect(made.code, made.stderr).toBe(0);
    }
    // b holds small too: left on its own, it can serve coder from it.
    expect((await synth(b, "small", "2", "256", "4")).code).toBe(0);
  });
  afterAll(stopAllHerdProcesses);

  it("serves coder from small while b is gone, and from big again once b is back, without a failed request", async () => {
    const set = await a.cli(["alias", "set", "coder", "big", "small", "--keep-loaded"]);
    expect(set.code, set.stderr).toBe(0);
    const first = await waitFor(
      "coder served by big",
      async () => {
        const reply = await askCoder(a);
        return reply.ok && reply.served === "big" ? reply : undefined;
      },
      120_000,
    );
    expect(first.served).toBe("big");
    const [aId, bId] = [(await a.client.cluster()).self, (await b.client.cluster()).self];
    const big = (await a.client.cluster()).desired.instances.find((instance) => instance.model === "big")!;
    expect(new Set(big.plan!.shards.map((shard) => shard.node))).toEqual(new Set([aId, bId]));

    // The client loop: one request after another, every reply checked, for the whole test.
    const { replies, stop } = clientLoop(a);
    await waitFor("a few replies before the kill", async () => (replies.length >= 3 ? true : undefined));

    const killedAt = Date.now();
    await b.kill();
    const fallback = await waitFor(
      "coder served by small after b was killed",
      async () => replies.find((reply) => reply.at > killedAt && reply.ok && reply.served === "small"),
      60_000,
    );
    const leaveMs = fallback.at - killedAt;
    const leaveGap = longestGap(replies, killedAt, fallback.at);

    b = await HerdProcess.start({
      home: b.home,
      port: b.port,
      clusterPort: b.clusterPort,
      args: ["--name", "b", "--peers", a.clusterEndpoint, "--memory-limit", "900M"],
    });
    const restartedAt = Date.now();
    const back = await waitFor(
      "coder served by big again after b returned",
      async () => replies.find((reply) => reply.at > restartedAt && reply.ok && reply.served === "big"),
      90_000,
    );
    const returnMs = back.at - restartedAt;
    // A few more replies from big, then the loop stops.
    await waitFor("replies after the switch back", async () =>
      replies.filter((reply) => reply.at > back.at).length >= 5 ? true : undefined,
    );
    await stop();
    const returnGap = longestGap(replies, restartedAt, back.at);
    const failed = (from: number, to = Number.POSITIVE_INFINITY) =>
      replies.filter((reply) => reply.at > from && reply.at <= to && !reply.ok);
    console.log(
      `alias coder: kill -9 of b to the first reply from small ${leaveMs} ms (longest gap between successful replies ${leaveGap} ms, ${failed(killedAt, fallback.at).length} failed); ` +
        `b started again to the first reply from big ${returnMs} ms (longest gap ${returnGap} ms, ${failed(restartedAt).length} failed); ${replies.length} replies in all`,
    );
    expect(leaveMs).toBeLessThan(15_000);
    expect(returnMs).toBeLessThan(30_000);
    expect(failed(restartedAt).map((reply) => reply.problem)).toEqual([]);
    // Once small served, every reply succeeded until the end.
    expect(failed(fallback.at).map((reply) => reply.problem)).toEqual([]);
    expect(replies.filter((reply) => reply.at > back.at).every((reply) => reply.served === "big")).toBe(true);

    // The switches are kept with their reasons, for the dashboard and `herd alias list`.
    const { aliases } = await a.client.aliases();
    const switches = aliases[0]!.switches.map((entry) => `${entry.from} -> ${entry.to}: ${entry.reason}`);
    expect(switches).toContainEqual(
      expect.stringMatching(
        /^big -> small: b left: big no longer fits \(needs [\d.]+ (GiB|MiB), [\d.]+ (GiB|MiB) present\); serving coder from small on a$/,
      ),
    );
    expect(switches.at(-1)).toMatch(/^small -> big: big is READY on a, b; serving coder from it$/);
    expect(aliases[0]).toMatchObject({ name: "coder", serving: "big", keepLoaded: true });
    const listed = await a.cli(["alias", "list"]);
    expect(listed.stdout).toMatch(/coder\s+big > small\s+yes\s+big/);
    // The fallback was drained and unloaded.
    await waitFor("small unloaded", async () =>
      (await a.client.cluster()).desired.instances.some((instance) => instance.model === "small")
        ? undefined
        : true,
    );
  }, 300_000);

  it("keeps answering on a node left on its own, from what fits there, and switches back when it rejoins", async () => {
    const bId = (await b.client.cluster()).self;
    const { replies, stop } = clientLoop(b);
    await waitFor("b answering coder", async () => (replies.some((reply) => reply.ok) ? true : undefined));
    const killedAt = Date.now();
    await a.kill();
    // b is now the cluster as far as it can tell: it coordinates, and loads the entry it holds.
    const alone = await waitFor(
      "coder served by small on b alone",
      async () => replies.find((reply) => reply.at > killedAt && reply.ok && reply.served === "small"),
      60_000,
    );
    const view = await b.client.cluster();
    expect(view.coordinator).toBe(bId);
    expect(view.desired.instances.find((instance) => instance.model === "small")?.node).toBe(bId);
    // Away for good as far as b can tell: a is gone, and big, which no node left holds, is suspended.
    await waitFor(
      "a gone and big suspended",
      async () => {
        const now = await b.client.cluster();
        const gone = now.nodes.find((member) => member.name === "a")?.state === "gone";
        return gone && now.desired.instances.find((instance) => instance.model === "big")?.suspended
          ? true
          : undefined;
      },
      60_000,
    );
    a = await HerdProcess.start({
      home: a.home,
      port: a.port,
      clusterPort: a.clusterPort,
      args: ["--name", "a", "--peers", b.clusterEndpoint, "--memory-limit", "900M"],
    });
    const restartedAt = Date.now();
    // b was never restarted: it rejoins a as its dialer finds it again.
    const back = await waitFor(
      "coder served by big again on b once a is back",
      async () => replies.find((reply) => reply.at > restartedAt && reply.ok && reply.served === "big"),
      120_000,
    ).catch(async (error: Error) => {
      for (const node of [a, b]) {
        const view = await node.client.cluster();
        console.log(
          JSON.stringify({
            coordinator: view.coordinator,
            epoch: view.epoch,
            nodes: view.nodes.map((member) => [member.name, member.state]),
            desired: view.desired.instances.map((instance) => [
              instance.model,
              instance.node,
              instance.suspended,
              instance.draining,
            ]),
            instances: view.instances.map((instance) => [instance.model, instance.state, instance.reason]),
          }),
        );
        const log = (await node.log())
          .split("\n")
          .filter((line) => /alias|coordinator|placed|suspend|fit|desired-state-changed|joined/i.test(line));
        console.log(
          log
            .slice(-40)
            .map((line) => line.slice(0, 400))
            .join("\n"),
        );
      }
      console.log(replies.slice(-5));
      throw error;
    });
    await waitFor("replies after the switch back", async () =>
      replies.filter((reply) => reply.at > back.at).length >= 3 ? true : undefined,
    );
    await stop();
    console.log(
      `alias coder on b alone: kill -9 of a to the first reply from small on b ${alone.at - killedAt} ms (longest gap ${longestGap(replies, killedAt, alone.at)} ms); ` +
        `a started again to the first reply from big ${back.at - restartedAt} ms (longest gap ${longestGap(replies, restartedAt, back.at)} ms); ${replies.length} replies`,
    );
    expect(alone.at - killedAt).toBeLessThan(15_000);
    expect(replies.filter((reply) => reply.at > alone.at && !reply.ok).map((reply) => reply.problem)).toEqual(
      [],
    );
  }, 300_000);

  it("streams an alias's answer with the entry in the header and the alias in every event", async () => {
    const response = await fetch(`${a.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "coder", prompt: "Once", max_tokens: 4, stream: true }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-herd-model")).toBe("big");
    const models = new Set<string>();
    for await (const event of decodeServerSentEvents(response.body as unknown as AsyncIterable<Uint8Array>)) {
      if (event.data === "[DONE]") continue;
      models.add((JSON.parse(event.data) as { model: string }).model);
    }
    expect([...models]).toEqual(["coder"]);
    // Listed beside the models, in OpenAI's and Ollama's lists.
    const openAI = (await (await fetch(`${a.url}/v1/models`)).json()) as { data: Array<{ id: string }> };
    expect(openAI.data.map((model) => model.id)).toEqual(expect.arrayContaining(["big", "small", "coder"]));
    const ollama = (await (await fetch(`${a.url}/api/tags`)).json()) as { models: Array<{ name: string }> };
    expect(ollama.models.map((model) => model.name)).toContain("coder:latest");
  });
});

describe("alias names and policies", () => {
  let node: HerdProcess;
  let cloud: Server;
  const cloudRequests: unknown[] = [];

  beforeAll(async () => {
    // A stand-in for a cloud API: it answers every chat completion, and counts them.
    cloud = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => {
        body += chunk;
      });
      request.on("end", () => {
        cloudRequests.push(JSON.parse(body));
        response.setHeader("content-type", "application/json");
        response.end(
          JSON.stringify({
            id: "chatcmpl-1",
            object: "chat.completion",
            created: 0,
            model: "mini-2026",
            choices: [
              { index: 0, message: { role: "assistant", content: "from the cloud" }, finish_reason: "stop" },
            ],
          }),
        );
      });
    });
    await new Promise<void>((resolve) => cloud.listen(0, "127.0.0.1", resolve));
    node = await HerdProcess.start({ args: ["--name", "solo"] });
    expect((await synth(node, "medium", "2", "128", "2")).code).toBe(0);
    const port = (cloud.address() as AddressInfo).port;
    expect(
      (await node.cli(["upstream", "add", "cloud", `http://127.0.0.1:${port}/v1`, "--models", "mini"])).code,
    ).toBe(0);
  });
  afterAll(async () => {
    await stopAllHerdProcesses();
    cloud.close();
  });

  it("refuses an alias named like a model, and one that points at nothing, naming what exists", async () => {
    const collision = await fetch(`${node.url}/herd/v1/aliases/medium`, {
      method: "PUT",
      body: JSON.stringify({ chain: ["mini"] }),
    });
    expect(collision.status).toBe(409);
    expect(((await collision.json()) as { error: { message: string } }).error.message).toContain(
      "'medium' is a model's name",
    );
    const typo = await node.cli(["alias", "set", "helper", "meduim", "upstream:cloud/mini"]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain(
      "alias 'helper' points at 'meduim', which no node holds and no upstream serves; the models that exist: medium, mini; upstreams: upstream:cloud/<model>",
    );
    expect((await node.client.aliases()).aliases).toEqual([]);
  });

  it("never sends a local-only key's request to an upstream entry, even when it is the only one READY", async () => {
    const set = await node.cli(["alias", "set", "helper", "medium", "upstream:cloud/mini"]);
    expect(set.code, set.stderr).toBe(0);
    const admin = await node.cli(["keys", "create", "--scope", "admin", "--name", "ops"]);
    expect(admin.code, admin.stderr).toBe(0);
    const adminKey = admin.stdout.trim();
    const lab = await node.cli(["keys", "create", "--name", "lab", "--policy", "local-only"], {
      HERD_API_KEY: adminKey,
    });
    expect(lab.code, lab.stderr).toBe(0);
    const labKey = lab.stdout.trim();
    const chat = (key: string, path = "/v1/chat/completions", headers: Record<string, string> = {}) =>
      fetch(`${node.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
        body: JSON.stringify({ model: "helper", max_tokens: 8, messages: [{ role: "user", content: "Hi" }] }),
      });

    const refused = await chat(labKey);
    expect(refused.status).toBe(503);
    const error = ((await refused.json()) as { error: { message: string; code: string } }).error;
    expect(error.message).toContain("upstream:cloud/mini (this request may not leave the cluster)");
    // Anthropic's clients get the same refusal in Anthropic's shape.
    const anthropic = await chat(labKey, "/v1/messages", { "anthropic-version": "2023-06-01" });
    expect(anthropic.status).toBe(503);
    expect(((await anthropic.json()) as { type: string }).type).toBe("error");
    // The header asks the same of a key that could leave.
    expect((await chat(adminKey, "/v1/chat/completions", { "x-herd-policy": "local-only" })).status).toBe(
      503,
    );
    expect(cloudRequests).toEqual([]);

    // A key that may leave the cluster is served by the upstream, and told so.
    const served = await chat(adminKey);
    expect(served.status).toBe(200);
    expect(served.headers.get("x-herd-model")).toBe("upstream:cloud/mini");
    const body = (await served.json()) as { model: string; choices: Array<{ message: { content: string } }> };
    expect(body.model).toBe("helper");
    expect(body.choices[0]!.message.content).toBe("from the cloud");
    expect(cloudRequests).toHaveLength(1);
  });
});
