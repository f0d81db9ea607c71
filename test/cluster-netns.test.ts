import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { connect } from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatJoinToken } from "../src/cluster/join-token.js";
import type { ClusterView } from "../src/protocol/cluster.js";
import { commandLine, flagValue } from "./support/command-line.js";
import { HerdProcess, sharedModelPath, stopAllHerdProcesses, waitFor } from "./support/herd-process.js";
import { createTestNetwork, inNamespace, type TestNetwork } from "./support/netns.js";

const execFileAsync = promisify(execFile);

const stateOf = (view: ClusterView, name: string) => view.nodes.find((node) => node.name === name)?.state;

/**
 * Three machines on one LAN, as network namespaces on a bridge. They share a join token that names
 * no address, so only multicast discovery can bring them together.
 */
describe("three hosts on a LAN", () => {
  let network: TestNetwork;
  let nodes: HerdProcess[];

  beforeAll(async () => {
    network = await createTestNetwork(3);
    nodes = await startHosts(network);
  });
  afterAll(async () => {
    await stopAllHerdProcesses();
    await network?.dispose();
  });

  it("discover each other and form one cluster", async () => {
    await waitFor("all three to see three live nodes", async () => {
      const views = await Promise.all(nodes.map((node) => node.client.cluster()));
      return views.every((view) => view.nodes.filter((node) => node.state === "alive").length === 3)
        ? views
        : undefined;
    });
    const logs = await Promise.all(nodes.map((node) => node.log()));
    expect(logs.some((log) => log.includes("discovered a node of this cluster on the LAN"))).toBe(true);
    const view = await nodes[0]!.client.cluster();
    const endpoints = view.nodes.flatMap((node) => node.endpoints);
    for (const host of network.hosts) expect(endpoints).toContain(`${host.address}:52416`);
  });

  it("drops a host whose link goes down and takes it back when the link comes up", async () => {
    await network.setLink(2, false);
    await waitFor(
      "host3 to be gone on host1 and host2",
      async () => {
        const views = await Promise.all(nodes.slice(0, 2).map((node) => node.client.cluster()));
        return views.every((view) => stateOf(view, "host3") === "gone") ? true : undefined;
      },
      20_000,
    );
    await network.setLink(2, true);
    await waitFor(
      "host3 to be alive again everywhere",
      async () => {
        const views = await Promise.all(nodes.map((node) => node.client.cluster()));
        return views.every((view) => stateOf(view, "host3") === "alive") ? true : undefined;
      },
      30_000,
    );
  });
});

describe("engines across hosts", () => {
  let network: TestNetwork;
  let head: HerdProcess;
  let shard: HerdProcess;

  beforeAll(async () => {
    network = await createTestNetwork(2);
    [head, shard] = (await startHosts(network)) as [HerdProcess, HerdProcess];
    await waitFor("two live nodes", async () => {
      const view = await head.client.cluster();
      return view.nodes.filter((node) => node.state === "alive").length === 2 && view.links.length === 2
        ? true
        : undefined;
    });
    await head.cli(["models", "import", sharedModelPath]);
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

  it("serves a model split over two hosts", async () => {
    const response = await fetch(`${shard.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({
        model: "stories260K",
        prompt: "Once upon a time",
        max_tokens: 24,
        temperature: 0,
      }),
    });
    expect(((await response.json()) as { choices: Array<{ text: string }> }).choices[0]!.text).toContain(
      "Lily",
    );
  });

  it("lets no other host reach the shard's rpc-server except through the keyed channel", async () => {
    const port = await rpcServerPort(network.hosts[1]!.name);
    const shardAddress = network.hosts[1]!.address;
    // From another host (the head's namespace) and from the bridge: the port is closed to them.
    expect(await connects(shardAddress, port)).toBe(false);
    expect(
      await inNamespace(network.hosts[0]!.name, process.execPath, "-e", probeScript(shardAddress, port)),
    ).toContain("refused");
    // The cluster port answers only TLS with the key: RPC bytes get no RPC answer.
    const reply = await exchange(shardAddress, 52416, Buffer.from([0, 1, 0, 0, 0, 0, 0, 0, 0]));
    expect(reply.length === 0 || reply[0] === 0x15).toBe(true);
  });
});

/**
 * A node on each host, all with one join token that names no address, so only multicast discovery
 * can bring them together. These tests are about the cluster, so the API needs no key.
 */
function startHosts(network: TestNetwork): Promise<HerdProcess[]> {
  const token = formatJoinToken({ key: randomBytes(32), addresses: [] });
  return Promise.all(
    network.hosts.map((host, index) =>
      HerdProcess.start({
        netns: host,
        port: 52415,
        clusterPort: 52416,
        args: [
          "--host",
          "0.0.0.0",
          "--insecure-no-auth",
          "--join",
          token,
          "--name",
          `host${index + 1}`,
          "--discovery",
        ],
      }),
    ),
  );
}

/** The port of the ggml-rpc-server running in a namespace, from its command line. */
async function rpcServerPort(namespace: string): Promise<number> {
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const args = await commandLine(entry).catch(() => []);
    if (!args[0]?.endsWith("ggml-rpc-server")) continue;
    const identified = await execFileAsync("ip", ["netns", "identify", entry]).catch(() => ({ stdout: "" }));
    if (identified.stdout.trim() === namespace) return Number(flagValue(args, "--port"));
  }
  throw new Error(`no ggml-rpc-server in ${namespace}`);
}

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 3000 });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function probeScript(host: string, port: number): string {
  return `const s=require("node:net").connect(${port},"${host}");s.on("connect",()=>{console.log("connected");s.destroy()});s.on("error",e=>console.log(e.code==="ECONNREFUSED"?"refused":e.code))`;
}

/** Sends bytes and collects what comes back until the peer closes (or 3 s pass). */
function exchange(host: string, port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host, port }, () => socket.write(bytes));
    socket.on("data", (chunk) => chunks.push(chunk));
    const done = () => resolve(Buffer.concat(chunks));
    socket.once("close", done);
    socket.once("error", () => {});
    setTimeout(() => socket.destroy(), 3000).unref();
  });
}
