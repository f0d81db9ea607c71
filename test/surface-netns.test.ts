import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  HerdProcess,
  runCli,
  sharedModelPath,
  stopAllHerdProcesses,
  waitFor,
} from "./support/herd-process.js";
import { createTestNetwork, inNamespace, type TestNetwork } from "./support/netns.js";

const exec = promisify(execFile);
const probeScript = join(new URL(".", import.meta.url).pathname, "support/probe-from-host.ts");
const apiPort = 52415;
const clusterPort = 52416;

/** Runs a probe from `namespace` (another host on the LAN) and parses its JSON answer. */
async function probe<T>(namespace: string, ...args: string[]): Promise<T> {
  const output = await inNamespace(namespace, process.execPath, "--import", "tsx", probeScript, ...args);
  return JSON.parse(output) as T;
}

/** The TCP sockets listening inside a namespace: `address:port` and the process that owns each. */
async function listeners(
  namespace: string,
): Promise<Array<{ address: string; port: number; process: string }>> {
  const { stdout } = await exec("ip", ["netns", "exec", namespace, "ss", "-ltnpH"]);
  return stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const local = line.trim().split(/\s+/)[3]!;
      const split = local.lastIndexOf(":");
      return {
        address: local.slice(0, split).replace(/^\[|\]$/g, ""),
        port: Number(local.slice(split + 1)),
        process: /users:\(\("([^"]+)"/.exec(line)?.[1] ?? "?",
      };
    });
}

/**
 * Two herd nodes on two hosts of a LAN serve a model split across both; a third host, with no key,
 * looks for a way in.
 */
describe("what another host on the LAN can reach", () => {
  let network: TestNetwork;
  let nodes: HerdProcess[];
  let key: string;

  beforeAll(async () => {
    network = await createTestNetwork(3);
    const [first, second] = network.hosts;
    // The first host's key is written before its node ever starts, as a person would do it.
    const home = await mkdtemp(join(tmpdir(), "herd-test-"));
    const created = await runCli(["keys", "create", "--scope", "admin", "--home", home], {
      ...process.env,
      HERD_URL: "http://127.0.0.1:9",
    });
    expect(created.code, created.stderr).toBe(0);
    key = created.stdout.trim();
    const head = await HerdProcess.start({
      netns: first!,
      home,
      port: apiPort,
      clusterPort,
      apiKey: key,
      args: ["--host", "0.0.0.0", "--name", "host1"],
    });
    const token = await head.client.joinToken();
    const shard = await HerdProcess.start({
      netns: second!,
      port: apiPort,
      clusterPort,
      apiKey: key,
      args: ["--host", "0.0.0.0", "--join", token, "--name", "host2"],
    });
    nodes = [head, shard];
    await waitFor("two live nodes with measured links, and the key on both", async () => {
      const views = await Promise.all(nodes.map((node) => node.client.cluster()));
      return views.every((view) => view.nodes.filter((node) => node.state === "alive").length === 2) &&
        views[0]!.links.length === 2
        ? true
        : undefined;
    });
    expect((await head.cli(["models", "import", sharedModelPath])).code).toBe(0);
    const loaded = await head.cli([
      "load",
      "stories260K",
      "--min-nodes",
      "2",
      "--split",
      "layer",
      "--parallel",
      "1",
    ]);
    expect(loaded.code, loaded.stderr).toBe(0);
  });
  afterAll(async () => {
    await stopAllHerdProcesses();
    await network?.dispose();
  });

  it("runs engines on both hosts, all of them listening on loopback only", async () => {
    const engines = new Set<string>();
    for (const host of network.hosts.slice(0, 2)) {
      const sockets = await listeners(host.name);
      for (const socket of sockets) {
        if (socket.port === apiPort || socket.port === clusterPort) continue;
        expect(socket.address, `${socket.process} on ${host.name}:${socket.port}`).toMatch(/^(127\.|::1$)/);
        engines.add(socket.process);
      }
    }
    // Both kinds of engine are running, so the scan below has something to miss.
    expect([...engines].sort()).toEqual(expect.arrayContaining(["ggml-rpc-server", "llama-server"]));
  });

  it("finds only the API and the cluster channel open on each node", async () => {
    const scanner = network.hosts[2]!.name;
    const hosts = network.hosts.slice(0, 2);
    const scans = await Promise.all(hosts.map((host) => probe<number[]>(scanner, "scan", host.address)));
    for (const [index, open] of scans.entries())
      expect(open, hosts[index]!.name).toEqual([apiPort, clusterPort]);
  });

  it("gets nothing from the API without a key", async () => {
    const scanner = network.hosts[2]!.name;
    for (const host of network.hosts.slice(0, 2)) {
      const answer = await inNamespace(
        scanner,
        "node",
        "-e",
        `Promise.all(["/v1/models","/herd/v1/cluster","/herd/v1/join-token","/herd/v1/keys"].map(p=>fetch("http://${host.address}:${apiPort}"+p).then(r=>r.status))).then(s=>console.log(JSON.stringify(s)))`,
      );
      expect(JSON.parse(answer)).toEqual([401, 401, 401, 401]);
    }
    // The served model answers with the key, on the shard's API too (forwarded to the head).
    const response = await nodes[1]!.client.node();
    expect(response.security).toMatchObject({ authRequired: true, exposed: true });
  });

  it("refuses a TLS client without the cluster key, and plain HTTP, on the cluster channel", async () => {
    const scanner = network.hosts[2]!.name;
    for (const host of network.hosts.slice(0, 2)) {
      const tls = await probe<{ secured: boolean; error?: string }>(
        scanner,
        "tls",
        host.address,
        String(clusterPort),
      );
      expect(tls.secured, host.name).toBe(false);
      const http = await probe<{ status?: number; error?: string }>(
        scanner,
        "http",
        host.address,
        String(clusterPort),
      );
      expect(http.status, host.name).toBeUndefined();
    }
    const logs = await nodes[0]!.log();
    expect(logs).toMatch(/refused a connection from 10\.\d+\.0\.3/);
  });
});
