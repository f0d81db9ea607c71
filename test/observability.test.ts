import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type HerdProcess,
  sharedModelPath,
  startCluster,
  stopAllHerdProcesses,
  waitFor,
} from "./support/herd-process.js";
import { histogramCount, samples, scrape, total } from "./support/prometheus.js";

const repositoryRoot = new URL("..", import.meta.url).pathname;

async function stream(node: HerdProcess, requestId: string): Promise<string> {
  const response = await fetch(`${node.url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": requestId },
    body: JSON.stringify({ model: "stories260K", prompt: "Once upon a time", max_tokens: 12, stream: true }),
  });
  expect(response.status).toBe(200);
  expect(response.headers.get("x-request-id")).toBe(requestId);
  const text = await response.text();
  expect(text).toContain("data: [DONE]");
  return text;
}

async function nodeLog(node: HerdProcess): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(join(node.home, "logs", "node.log"), "utf8");
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("metrics, request ids and logs across two nodes", () => {
  let head: HerdProcess;
  let entry: HerdProcess;
  let headName: string;

  beforeAll(async () => {
    const nodes = await startCluster(["a", "b"]);
    await nodes[0]!.cli(["models", "import", sharedModelPath]);
    const loaded = await nodes[0]!.cli(["load", "stories260K", "--min-nodes", "2", "--split", "layer"]);
    expect(loaded.code, loaded.stderr).toBe(0);
    const view = await nodes[0]!.client.cluster();
    const headId = view.desired.instances[0]!.node;
    headName = view.nodes.find((node) => node.id === headId)!.name;
    [head, entry] = headName === "a" ? [nodes[0]!, nodes[1]!] : [nodes[1]!, nodes[0]!];
    // The entry node learns the instance is READY from the head's heartbeat.
    await waitFor("the entry node to see the instance READY", async () =>
      (await entry.client.cluster()).instances.some((instance) => instance.state === "READY")
        ? true
        : undefined,
    );
  });
  afterAll(stopAllHerdProcesses);

  it("serves /metrics in Prometheus text format, and its counters move with the traffic sent", async () => {
    const served = { protocol: "openai", model: "stories260K", status: "200" };
    const [entryBefore, headBefore] = [await scrape(entry.url), await scrape(head.url)];
    for (let index = 0; index < 3; index++) await stream(entry, `metrics-${index}`);
    const missing = await fetch(`${entry.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "no-such-model", prompt: "x" }),
    });
    expect(missing.status).toBe(404);
    const [entryAfter, headAfter] = [await scrape(entry.url), await scrape(head.url)];

    const moved = (before: typeof entryBefore, after: typeof entryBefore, name: string, labels = {}) =>
      total(after, name, labels) - total(before, name, labels);
    // Received from a client by the entry node, then served by the head for that node.
    expect(moved(entryBefore, entryAfter, "herd_requests_total", { ...served, source: "client" })).toBe(3);
    expect(moved(headBefore, headAfter, "herd_requests_total", { ...served, source: "node" })).toBe(3);
    expect(
      moved(entryBefore, entryAfter, "herd_request_errors_total", { protocol: "openai", status: "404" }),
    ).toBe(1);
    // The head, which runs the engine, times its tokens.
    expect(
      histogramCount(headAfter, "herd_time_to_first_token_seconds") -
        histogramCount(headBefore, "herd_time_to_first_token_seconds"),
    ).toBe(3);
    expect(
      histogramCount(headAfter, "herd_decode_tokens_per_second") -
        histogramCount(headBefore, "herd_decode_tokens_per_second"),
    ).toBe(3);

    // The node's state: instances, slots, memory, links.
    expect(
      total(entryAfter, "herd_instance_state", { model: "stories260K", state: "READY", node: headName }),
    ).toBe(1);
    expect(total(headAfter, "herd_instance_slots", { model: "stories260K" })).toBe(4);
    expect(samples(headAfter, "herd_instance_slots_in_use", { model: "stories260K" })).toHaveLength(1);
    expect(samples(headAfter, "herd_instance_queue_depth", { model: "stories260K" })).toHaveLength(1);
    expect(total(entryAfter, "herd_machine_memory_bytes", { kind: "total" })).toBeGreaterThan(0);
    expect(
      total(entryAfter, "herd_node_memory_bytes", { node: headName, kind: "available" }),
    ).toBeGreaterThan(0);
    expect(total(entryAfter, "herd_node_state", { state: "alive" })).toBe(2);
    expect(samples(entryAfter, "herd_link_rtt_seconds").length).toBeGreaterThanOrEqual(1);
    expect(total(entryAfter, "herd_link_throughput_bytes_per_second")).toBeGreaterThan(0);
    expect(total(entryAfter, "process_resident_memory_bytes")).toBeGreaterThan(0);
  });

  it("logs a forwarded request under the same id on the node that received it and on the head", async () => {
    await stream(entry, "follow-me-7");
    // Each node logs "request served" once its side of the response has finished, which can be a
    // moment after the client read the last byte.
    const logged = async (node: HerdProcess) =>
      (await nodeLog(node)).filter((line) => line.requestId === "follow-me-7");
    await waitFor("both nodes to log the request", async () => {
      const both = [await logged(entry), await logged(head)];
      return both.every((lines) => lines.some((line) => line.msg === "request served")) ? true : undefined;
    });
    const received = await logged(entry);
    const served = await logged(head);
    expect(received).toContainEqual(
      expect.objectContaining({
        msg: "request served",
        status: 200,
        model: "stories260K",
        path: "/v1/completions",
      }),
    );
    expect(received.some((line) => line.forwarded)).toBe(false);
    expect(served).toContainEqual(
      expect.objectContaining({ msg: "request served", status: 200, forwarded: true }),
    );
    // A request without an id gets one, and the head logs it under the same.
    const response = await fetch(`${entry.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "stories260K", prompt: "Once", max_tokens: 4 }),
    });
    const id = response.headers.get("x-request-id")!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await response.text();
    await waitFor("the head to log the generated id", async () =>
      (await nodeLog(head)).some((line) => line.requestId === id) ? true : undefined,
    );
  });

  it("herd logs shows this node's log and another node's, pretty or as JSON", async () => {
    await stream(entry, "cli-logs-1");
    const local = await entry.cli(["logs", "-n", "400"]);
    expect(local.code, local.stderr).toBe(0);
    const line = local.stdout.split("\n").find((text) => text.includes("requestId=cli-logs-1"));
    expect(line).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO {2}request served {2}requestId=cli-logs-1 /,
    );
    expect(line).toContain("status=200");

    const remote = await entry.cli(["logs", "--node", headName, "-n", "400", "--json"]);
    expect(remote.code, remote.stderr).toBe(0);
    const headLines = remote.stdout
      .split("\n")
      .filter(Boolean)
      .map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(headLines).toContainEqual(expect.objectContaining({ requestId: "cli-logs-1", forwarded: true }));
    expect(new Set(headLines.map((record) => record.pid))).toEqual(new Set([head.pid]));

    const unknown = await entry.cli(["logs", "--node", "nobody"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no node named 'nobody'");
  });

  it("herd logs --follow shows another node's new lines as they are written", async () => {
    const follower = spawn(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", "logs", "--node", headName, "--follow", "-n", "0"],
      {
        cwd: repositoryRoot,
        env: { ...process.env, HERD_URL: entry.url },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    follower.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    try {
      // Requests until one shows up: the follower may still be starting when the first is sent.
      await waitFor(
        "the followed log to show a new request",
        async () => {
          await stream(entry, "followed-1");
          return output.includes("requestId=followed-1") ? true : undefined;
        },
        30_000,
      );
      expect(output).not.toContain("requestId=cli-logs-1");
    } finally {
      follower.kill("SIGINT");
    }
  });
});
