import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClusterView, LinkView } from "../src/protocol/cluster.js";
import {
  type HerdProcess,
  sharedModelPath,
  startInNamespaces,
  stopAllHerdProcesses,
  waitFor,
} from "./support/herd-process.js";
import { addCable, createTestNetwork, inNamespace, sockets, type TestNetwork } from "./support/netns.js";

const exec = promisify(execFile);
const probeScript = join(new URL(".", import.meta.url).pathname, "support/probe-from-host.ts");
const apiPort = 52415;
const clusterPort = 52416;
const prompt = { prompt: "Once upon a time", max_tokens: 24, temperature: 0 };

function hostOf(endpoint: string): string {
  return endpoint.slice(0, endpoint.lastIndexOf(":")).replace(/^\[|\]$/g, "");
}

function portOf(endpoint: string): number {
  return Number(endpoint.slice(endpoint.lastIndexOf(":") + 1));
}

/** The link from one node to another in a view, by name. */
function linkBetween(view: ClusterView, from: string, to: string): LinkView | undefined {
  const id = (name: string) => view.nodes.find((node) => node.name === name)?.id;
  return view.links.find((link) => link.from === id(from) && link.to === id(to));
}

/**
 * Three hosts on a LAN bridge shaped to 100 Mbit/s (`tc tbf`); the first two also joined by a veth
 * pair of their own, unshaped, with a /30 (the "cable"). The third is on the LAN only.
 */
describe.runIf(process.platform === "linux")("paths and transports over a cable and a LAN", () => {
  let network: TestNetwork;
  let nodes: HerdProcess[];
  let cableSubnet: string;
  let measured: ClusterView;
  /** The greedy text of the split over the cable, for the split through the tunnel to match. */
  let splitText = "";

  /** A greedy completion through `node`; prints the engine's decode speed under `label`. */
  async function completion(node: HerdProcess, label: string): Promise<string> {
    const response = await fetch(`${node.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "stories260K", ...prompt }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      choices: Array<{ text: string }>;
      timings?: { predicted_per_second?: number };
    };
    console.log(`${label}: ${body.timings?.predicted_per_second?.toFixed(1) ?? "?"} tokens/s decode`);
    return body.choices[0]!.text;
  }

  /** Exactly these hosts, split by layers. */
  const placementOver = (hosts: string[]) => [
    "--nodes",
    hosts.join(","),
    "--min-nodes",
    String(hosts.length),
    "--split",
    "layer",
  ];

  async function loadOver(hosts: string[]): Promise<ClusterView> {
    const head = nodes[0]!;
    const loaded = await head.cli(["load", "stories260K", ...placementOver(hosts), "--parallel", "1"]);
    expect(loaded.code, loaded.stderr).toBe(0);
    return head.client.cluster();
  }

  /** `herd plan` of stories260K over exactly these hosts, as `loadOver` loads it. */
  function planOver(hosts: string[]) {
    return nodes[0]!.cli(["plan", "stories260K", ...placementOver(hosts)]);
  }

  async function unload(): Promise<void> {
    const head = nodes[0]!;
    expect((await head.cli(["unload", "stories260K"])).code).toBe(0);
    await waitFor("every RPC server of the unloaded split to exit", async () => {
      for (const host of network.hosts) {
        const left = await sockets(host.name, "listening");
        if (left.some((socket) => socket.process === "ggml-rpc-server")) return undefined;
      }
      return true;
    });
  }

  beforeAll(async () => {
    network = await createTestNetwork(3);
    const [first, second] = network.hosts as [TestNetwork["hosts"][0], TestNetwork["hosts"][0]];
    // The LAN at 100 Mbit/s each way: on the bridge's port towards each host, and on the host's own end.
    for (const host of network.hosts) {
      const shape = [
        "qdisc",
        "add",
        "dev",
        "",
        "root",
        "tbf",
        "rate",
        "100mbit",
        "burst",
        "64kb",
        "latency",
        "50ms",
      ];
      await exec(
        "tc",
        shape.map((word) => word || host.bridgePort),
      );
      await inNamespace(host.name, "tc", ...shape.map((word) => word || host.interfaceName));
    }
    cableSubnet = (await addCable(first, second)).subnet;
    nodes = await startInNamespaces(network.hosts, first.address);
    measured = await waitFor("every path from host1 measured, throughput included", async () => {
      const view = await nodes[0]!.client.cluster();
      const toSecond = linkBetween(view, "host1", "host2")?.paths ?? [];
      const toThird = linkBetween(view, "host1", "host3")?.paths ?? [];
      const probed = [...toSecond, ...toThird].every((path) => path.bytesPerSecond > 0);
      return toSecond.length === 2 && toThird.length === 1 && probed ? view : undefined;
    });
    expect((await nodes[0]!.cli(["models", "import", sharedModelPath])).code).toBe(0);
  });
  afterAll(async () => {
    await stopAllHerdProcesses();
    await network?.dispose();
    const left = (await exec("ip", ["netns", "list"])).stdout;
    for (const host of network?.hosts ?? []) expect(left).not.toContain(host.name);
  });

  it("finds two paths between the cabled hosts and one to the third, each measured, the cable the best", () => {
    const [first, second, third] = network.hosts as Array<TestNetwork["hosts"][0]>;
    const cabled = linkBetween(measured, "host1", "host2")!;
    const describe = (link: LinkView) =>
      link.paths!.map((path) => ({
        from: path.from,
        to: path.to,
        interface: path.interface,
        private: path.private,
        best: path.best,
      }));
    expect(describe(cabled)).toEqual([
      { from: `${cableSubnet}.1`, to: `${cableSubnet}.2`, interface: "cable0", private: true, best: true },
      { from: first!.address, to: second!.address, interface: "eth0", private: false, best: false },
    ]);
    expect(describe(linkBetween(measured, "host1", "host3")!)).toEqual([
      { from: first!.address, to: third!.address, interface: "eth0", private: false, best: true },
    ]);
    const [cable, lan] = cabled.paths!;
    // 100 Mbit/s is 12.5 MB/s; the unshaped veth is a memory copy.
    expect(lan!.bytesPerSecond).toBeLessThan(14e6);
    expect(cable!.bytesPerSecond).toBeGreaterThan(lan!.bytesPerSecond * 3);
    // The link's own figures, which the planner reads, are the best path's.
    expect([cabled.rttMs, cabled.throughputBytesPerSecond]).toEqual([cable!.rttMs, cable!.bytesPerSecond]);
    console.log(
      `host1 -> host2: cable ${cable!.rttMs.toFixed(3)} ms ${(cable!.bytesPerSecond / 1e6).toFixed(0)} MB/s, ` +
        `LAN ${lan!.rttMs.toFixed(3)} ms ${(lan!.bytesPerSecond / 1e6).toFixed(1)} MB/s`,
    );
  });

  it("shows the best path per pair in 'herd status', every path with --paths, and the probe bytes in /metrics", async () => {
    const [first, second] = network.hosts as Array<TestNetwork["hosts"][0]>;
    const status = await nodes[0]!.cli(["status"]);
    expect(status.code, status.stderr).toBe(0);
    const cableRow = new RegExp(
      `^host1\\s+host2\\s+${cableSubnet}\\.1 -> ${cableSubnet}\\.2\\s+virtual \\(private\\)\\s+[\\d.]+ ms\\s+[\\d.]+ [GMK]iB/s\\s+-`,
      "m",
    );
    const lanRow = new RegExp(
      `^host1\\s+host2\\s+${first!.address} -> ${second!.address}\\s+virtual\\s`,
      "m",
    );
    expect(status.stdout).toMatch(/^FROM\s+TO\s+PATH\s+KIND\s+RTT\s+THROUGHPUT\s+RPC\s+MEASURED$/m);
    expect(status.stdout).toMatch(cableRow);
    expect(status.stdout).not.toMatch(lanRow);
    const all = await nodes[0]!.cli(["status", "--paths"]);
    expect(all.stdout).toMatch(cableRow);
    expect(all.stdout).toMatch(lanRow);
    console.log(all.stdout.slice(all.stdout.indexOf("FROM")));

    const metrics = await (await fetch(`${nodes[0]!.url}/metrics`)).text();
    const received = Number(
      /^herd_probe_bytes_total\{node="host1",direction="received"\} (\d+)/m.exec(metrics)?.[1],
    );
    // Three paths probed once each (2 MiB), within the minute's budget.
    expect(received).toBeGreaterThanOrEqual(3 * 2 * 1024 * 1024);
    expect(received).toBeLessThanOrEqual(10 * 1024 * 1024);
    expect(metrics).toMatch(/^herd_probe_budget_bytes_per_minute\{node="host1"\} 10485760$/m);
    expect(metrics).toContain(
      `herd_path_rtt_seconds{from="host1",to="host2",path="${cableSubnet}.1>${cableSubnet}.2",kind="virtual"}`,
    );
    console.log(`host1 probe bytes received ${received}`);
  });

  it("splits over the cabled hosts on the cable, directly, the shard bound to the cable's address alone", async () => {
    const [first, second, third] = network.hosts as Array<TestNetwork["hosts"][0]>;
    const plan = await planOver(["host1", "host2"]);
    expect(plan.code, plan.stderr).toBe(0);
    console.log(plan.stdout);
    expect(plan.stdout).toMatch(
      new RegExp(`^host2\\s.*direct ${cableSubnet}\\.1 -> ${cableSubnet}\\.2 \\(virtual, private\\)$`, "m"),
    );

    const view = await loadOver(["host1", "host2"]);
    const instancePlan = view.desired.instances[0]!.plan!;
    expect(instancePlan.rpcRoutes).toEqual([
      expect.objectContaining({ transport: "direct", host: `${cableSubnet}.2` }),
    ]);
    const text = await completion(nodes[0]!, "host1+host2, direct over the cable");
    expect(text.length).toBeGreaterThan(0);

    const listening = (await sockets(second!.name, "listening")).filter(
      (socket) => socket.process === "ggml-rpc-server",
    );
    expect(listening.map((socket) => hostOf(socket.local))).toEqual([`${cableSubnet}.2`]);
    const rpcPort = portOf(listening[0]!.local);
    // The head's engine holds its connection over the cable: from host1's end of it to the shard.
    const established = await sockets(first!.name, "established");
    expect(
      established
        .filter((socket) => socket.process === "llama-server")
        .map((socket) => [hostOf(socket.local), socket.peer]),
    ).toContainEqual([`${cableSubnet}.1`, `${cableSubnet}.2:${rpcPort}`]);
    // The third host on the LAN finds nothing but the API and the channel on the shard's host.
    const open = JSON.parse(
      await inNamespace(
        third!.name,
        process.execPath,
        "--import",
        "tsx",
        probeScript,
        "scan",
        second!.address,
      ),
    ) as number[];
    expect(open).toEqual([apiPort, clusterPort]);

    const shown = await waitFor("the cable's path to say its RPC runs on it", async () => {
      const current = linkBetween(await nodes[0]!.client.cluster(), "host1", "host2");
      const cable = current?.paths?.find((path) => path.private);
      return cable?.rpc ? cable.rpc : undefined;
    });
    expect(shown).toBe("tcp");
    await unload();
    splitText = text;
  });

  it("splits over a host on the LAN only through the tunnel, with the same greedy text", async () => {
    const third = network.hosts[2]!;
    const view = await loadOver(["host1", "host3"]);
    expect(view.desired.instances[0]!.plan!.rpcRoutes).toEqual([{ transport: "tunnel" }]);
    const text = await completion(nodes[0]!, "host1+host3, tunnel over the LAN");
    expect(text).toBe(splitText);
    const listening = (await sockets(third.name, "listening")).filter(
      (socket) => socket.process === "ggml-rpc-server",
    );
    expect(listening.map((socket) => hostOf(socket.local))).toEqual(["127.0.0.1"]);
    // The shard's only client is the tunnel's end on its own host; nothing reaches it from the LAN.
    const clients = (await sockets(third.name, "established")).filter(
      (socket) => portOf(socket.local) === portOf(listening[0]!.local),
    );
    expect(clients.length).toBeGreaterThan(0);
    expect(clients.every((socket) => hostOf(socket.peer) === "127.0.0.1")).toBe(true);
    await unload();
  });

  it("places the split again over the LAN within 15 s when the cable goes down, with the same greedy text", async () => {
    const [first, second] = network.hosts as Array<TestNetwork["hosts"][0]>;
    const head = nodes[0]!;
    await loadOver(["host1", "host2"]);
    expect(await completion(head, "host1+host2 again, direct over the cable")).toBe(splitText);
    const events = new AbortController();
    const replanned = (async () => {
      for await (const event of await head.client.subscribe(events.signal)) {
        if (event.type === "instance-replanned") return event;
      }
      return undefined;
    })();
    const pulled = performance.now();
    await exec("ip", ["-n", first!.name, "link", "set", "cable0", "down"]);
    try {
      const event = await replanned;
      expect(event).toMatchObject({
        reason: `the path ${cableSubnet}.1 -> ${cableSubnet}.2 (virtual) went away`,
      });
      await waitFor(
        "the split READY again through the tunnel",
        async () => {
          const view = await head.client.cluster();
          const instance = view.desired.instances[0];
          const running = view.instances.find((summary) => summary.id === instance?.id);
          return instance?.plan?.rpcRoutes?.[0]?.transport === "tunnel" && running?.state === "READY"
            ? true
            : undefined;
        },
        15_000,
      );
      const seconds = (performance.now() - pulled) / 1000;
      console.log(`cable down -> READY over the LAN in ${seconds.toFixed(1)} s`);
      expect(seconds).toBeLessThan(15);
      expect(await completion(head, "host1+host2 after the cable went down, tunnel over the LAN")).toBe(
        splitText,
      );
      const listening = (await sockets(second!.name, "listening")).filter(
        (socket) => socket.process === "ggml-rpc-server",
      );
      expect(listening.map((socket) => hostOf(socket.local))).toEqual(["127.0.0.1"]);
    } finally {
      events.abort();
      await exec("ip", ["-n", first!.name, "link", "set", "cable0", "up"]);
    }
    // The cable back: herd leaves the READY split where it is, and `herd plan` says a faster one is there.
    const plan = await waitFor(
      "herd plan to see the cable again",
      async () => {
        const planned = await planOver(["host1", "host2"]);
        return planned.stdout.includes("a faster placement is available") ? planned.stdout : undefined;
      },
      30_000,
    );
    console.log(plan);
    expect(plan).toContain(`reaches host2 directly over ${cableSubnet}.1 -> ${cableSubnet}.2`);
    const view = await head.client.cluster();
    expect(view.desired.instances[0]!.plan!.rpcRoutes![0]!.transport).toBe("tunnel");
  });
});
