import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { formatJoinToken } from "../src/cluster/join-token.js";
import { readLinuxInterfaces } from "../src/cluster/network-interfaces/linux/read-linux-interfaces.js";
import { detectEngineRdma } from "../src/engine/detect-engine-rdma.js";
import { runCommand } from "../src/engine/run-command.js";
import { findPaths } from "../src/fabric/find-paths.js";
import { isPrivatePath } from "../src/fabric/is-private-path.js";
import type { ClusterView } from "../src/protocol/cluster.js";
import type { NetworkInterface } from "../src/protocol/network-interface.js";
import { findFreePort } from "../src/util/free-port.js";
import { HerdProcess, stopAllHerdProcesses, waitFor } from "./support/herd-process.js";
import { addCable, createTestNetwork, inNamespace, type TestNetwork } from "./support/netns.js";

const exec = promisify(execFile);

/** `ip -d -j link` and `ip -j addr`: the kernel's netlink view, independent of the sysfs files herd reads. */
interface IpLink {
  ifname: string;
  flags: string[];
  mtu: number;
  operstate: string;
  link_type: string;
  linkinfo?: { info_kind?: string };
  addr_info?: Array<{ local: string; prefixlen: number }>;
}

async function ipLinks(namespace?: string): Promise<IpLink[]> {
  const run = (...args: string[]) =>
    namespace ? inNamespace(namespace, "ip", ...args) : exec("ip", args).then((result) => result.stdout);
  const links = JSON.parse(await run("-d", "-j", "link", "show")) as IpLink[];
  const addresses = JSON.parse(await run("-j", "addr", "show")) as IpLink[];
  return links.map((link) => ({
    ...link,
    addr_info: addresses.find((entry) => entry.ifname === link.ifname)?.addr_info ?? [],
  }));
}

/** The kind netlink implies: a loopback link type, a link kind (veth, bridge, dummy, ifb...) is virtual. */
function expectedKind(link: IpLink): NetworkInterface["kind"] {
  if (link.link_type === "loopback") return "loopback";
  if (link.linkinfo?.info_kind) return "virtual";
  return link.link_type === "ether" ? "ethernet" : "other";
}

function expectMatchesNetlink(interfaces: NetworkInterface[], links: IpLink[]): void {
  expect(interfaces.map((entry) => entry.name).sort()).toEqual(links.map((link) => link.ifname).sort());
  for (const link of links) {
    const reported = interfaces.find((entry) => entry.name === link.ifname)!;
    expect({ name: reported.name, kind: reported.kind, mtu: reported.mtu, up: reported.up }).toEqual({
      name: link.ifname,
      kind: expectedKind(link),
      mtu: link.mtu,
      up: link.operstate === "UP" || (link.operstate === "UNKNOWN" && link.link_type === "loopback"),
    });
    // Node lists the addresses of running interfaces only (libuv skips those without IFF_UP and IFF_RUNNING).
    const running = link.flags.includes("UP") && link.flags.includes("LOWER_UP");
    expect(reported.addresses.map((address) => `${address.address}/${address.prefixLength}`).sort()).toEqual(
      running ? (link.addr_info ?? []).map((address) => `${address.local}/${address.prefixlen}`).sort() : [],
    );
  }
}

describe.runIf(process.platform === "linux")("this machine's network interfaces", () => {
  it("are read from the real /sys as netlink reports them, loopback included", async () => {
    const interfaces = await readLinuxInterfaces();
    expect(interfaces.find((entry) => entry.name === "lo")).toMatchObject({ kind: "loopback", up: true });
    expect(interfaces.some((entry) => entry.kind === "ethernet" || entry.kind === "virtual")).toBe(true);
    expectMatchesNetlink(interfaces, await ipLinks());
  });

  it("say whether the engine was built with RDMA as its ggml-rpc-server says at start", async () => {
    const rpcServer = join(inject("engineDirectory"), "ggml-rpc-server");
    const port = await findFreePort();
    // stdbuf: the server's printf output to a pipe is otherwise still buffered when timeout stops it.
    const started = await runCommand("timeout", [
      "3",
      "stdbuf",
      "-oL",
      rpcServer,
      "-H",
      "127.0.0.1",
      "-p",
      String(port),
    ]);
    const transport = /transport\s*: (.+)/.exec(started.stdout)?.[1];
    expect(transport).toMatch(/^TCP/);
    expect(await detectEngineRdma({ rpcServer })).toBe(transport!.includes("RDMA"));
  });
});

/**
 * Two hosts on a LAN bridge, joined also by a cable of their own (a veth pair with jumbo frames and
 * a /30, as a Thunderbolt link would be set up), and a spare pair of interfaces left down on the first.
 */
describe.runIf(process.platform === "linux")("a node in a network namespace", () => {
  let network: TestNetwork;
  let node: HerdProcess;
  let view: ClusterView;
  let cableSubnet: string;

  beforeAll(async () => {
    network = await createTestNetwork(2);
    const [first, second] = network.hosts as [TestNetwork["hosts"][0], TestNetwork["hosts"][0]];
    const ip = (...args: string[]) => exec("ip", args);
    cableSubnet = (await addCable(first, second, { mtu: 9000 })).subnet;
    await ip("-n", first.name, "addr", "add", "fd00:77::1/64", "dev", "cable0", "nodad");
    // A second pair inside the same host, left down (no dummy module is loaded on every machine).
    await ip(
      "-n",
      first.name,
      "link",
      "add",
      "spare0",
      "mtu",
      "1280",
      "type",
      "veth",
      "peer",
      "name",
      "spare1",
    );
    await ip("-n", first.name, "addr", "add", "192.168.77.5/24", "dev", "spare0");
    const token = formatJoinToken({ key: randomBytes(32), addresses: [`${first.address}:52416`] });
    const start = (host: TestNetwork["hosts"][0], name: string) =>
      HerdProcess.start({
        netns: host,
        port: 52415,
        clusterPort: 52416,
        args: ["--host", "0.0.0.0", "--insecure-no-auth", "--join", token, "--name", name],
      });
    [node] = await Promise.all([start(first, "cabled"), start(second, "peer")]);
    // Both ends of the cable up with their addresses: a node that starts as the veth comes up reads it
    // down at first, and reports it up at its next read (every 2 s).
    const cableUp = (entry: ClusterView["nodes"][number]) =>
      entry.state === "alive" &&
      entry.profile?.interfaces?.some(
        (each) => each.name.startsWith("cable") && each.up && each.addresses.length > 0,
      ) === true;
    view = await waitFor("both ends of the cable to reach the first node, up", async () => {
      const current = await node.client.cluster();
      return current.nodes.filter(cableUp).length === 2 ? current : undefined;
    });
  });
  afterAll(async () => {
    await stopAllHerdProcesses();
    await network?.dispose();
    const left = (await exec("ip", ["netns", "list"])).stdout;
    for (const host of network?.hosts ?? []) expect(left).not.toContain(host.name);
  });

  it("reports the interfaces as configured, in its profile", async () => {
    const interfaces = view.nodes.find((entry) => entry.id === view.self)!.profile!.interfaces!;
    const byName = (name: string) => interfaces.find((entry) => entry.name === name);
    expect(byName("cable0")).toEqual({
      name: "cable0",
      kind: "virtual",
      addresses: expect.arrayContaining([
        { address: `${cableSubnet}.1`, prefixLength: 30, family: "ipv4" },
        { address: "fd00:77::1", prefixLength: 64, family: "ipv6" },
      ]),
      mtu: 9000,
      speedMbps: expect.any(Number),
      up: true,
      rdma: false,
    });
    // Down, so not a path: its configured address is not listed (Node's list holds running interfaces only).
    expect(byName("spare0")).toEqual({
      name: "spare0",
      kind: "virtual",
      addresses: [],
      mtu: 1280,
      up: false,
      rdma: false,
    });
    expect(byName("eth0")).toMatchObject({
      kind: "virtual",
      addresses: expect.arrayContaining([
        { address: network.hosts[0]!.address, prefixLength: 24, family: "ipv4" },
      ]),
      up: true,
    });
    expect(byName("lo")).toMatchObject({ kind: "loopback", up: true });
    expectMatchesNetlink(interfaces, await ipLinks(network.hosts[0]!.name));
  });

  it("shows them in 'herd status': the usable ones, not the interface that is down", async () => {
    const status = await node.cli(["status"]);
    expect(status.code, status.stderr).toBe(0);
    const rows = status.stdout.split("\n");
    expect(rows).toContainEqual(
      expect.stringMatching(/^NODE\s+INTERFACE\s+KIND\s+ADDRESSES\s+MTU\s+SPEED\s+RDMA$/),
    );
    expect(rows).toContainEqual(
      expect.stringMatching(
        new RegExp(`^cabled\\s+cable0\\s+virtual\\s+${cableSubnet}\\.1/30, fd00:77::1/64\\s+9000\\s`),
      ),
    );
    expect(rows).toContainEqual(
      expect.stringMatching(new RegExp(`^cabled\\s+eth0\\s+virtual\\s+${network.hosts[0]!.address}/24`)),
    );
    expect(status.stdout).not.toMatch(/spare0|^cabled\s+lo\s/m);
  });

  it("finds the LAN and the private cable as the two paths between the hosts, from the profiles the peers exchanged", () => {
    const interfacesOf = (name: string) =>
      view.nodes.find((entry) => entry.name === name)!.profile!.interfaces!;
    const [first, second] = network.hosts as [TestNetwork["hosts"][0], TestNetwork["hosts"][0]];
    const paths = findPaths(interfacesOf("cabled"), interfacesOf("peer"));
    // The /30 cable joins only these two; the /24 LAN is shared with whatever else is on it.
    expect(paths.map((path) => isPrivatePath(path, interfacesOf("cabled"), []))).toEqual([true, false]);
    expect(paths).toEqual([
      {
        from: { interface: "cable0", address: `${cableSubnet}.1` },
        to: { interface: "cable1", address: `${cableSubnet}.2` },
        kind: "virtual",
        rdmaPossible: false,
      },
      {
        from: { interface: "eth0", address: first.address },
        to: { interface: "eth0", address: second.address },
        kind: "virtual",
        rdmaPossible: false,
      },
    ]);
  });
});
