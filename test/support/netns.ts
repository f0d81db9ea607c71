import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { isProcessAlive } from "../../src/util/process-alive.js";

const exec = promisify(execFile);

async function ip(...args: string[]): Promise<void> {
  await exec("ip", args);
}

/** Runs a command inside a namespace. */
export async function inNamespace(namespace: string, ...command: string[]): Promise<string> {
  return (await exec("ip", ["netns", "exec", namespace, ...command])).stdout;
}

export interface TestNetwork {
  /** `{ name, address }` of each host, in order; `bridgePort` is its link's end on the bridge. */
  hosts: Array<{ name: string; address: string; interfaceName: string; bridgePort: string }>;
  /** Takes a host's link down or up. */
  setLink(host: number, up: boolean): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * `count` hosts, each a network namespace with one veth link to a shared bridge (a LAN switch),
 * on 10.<n>.0.0/24; the bridge itself has .254 so the test (in the root namespace) can reach them.
 * Everything is created here and removed by `dispose()`.
 */
export async function createTestNetwork(count: number): Promise<TestNetwork> {
  await removeAbandonedNetworks();
  const tag = randomBytes(2).toString("hex");
  const subnet = `10.${200 + (Number.parseInt(tag, 16) % 50)}.0`;
  const bridge = `hbr${tag}`;
  const hosts = Array.from({ length: count }, (_, index) => ({
    name: `herd-${tag}-${index + 1}`,
    address: `${subnet}.${index + 1}`,
    interfaceName: "eth0",
    hostSide: `hv${tag}${index + 1}`,
  }));
  const cleanup = async () => {
    for (const host of hosts) await ip("netns", "delete", host.name).catch(() => {});
    for (const host of hosts) await ip("link", "delete", host.hostSide).catch(() => {});
    await ip("link", "delete", bridge).catch(() => {});
  };
  try {
    await ip("link", "add", bridge, "type", "bridge");
    // The owner, so that a later run can tell a network whose test process was killed.
    await ip("link", "set", bridge, "alias", `herd-test pid=${process.pid}`);
    await ip("addr", "add", `${subnet}.254/24`, "dev", bridge);
    await ip("link", "set", bridge, "up");
    for (const host of hosts) {
      await ip("netns", "add", host.name);
      await ip("link", "add", host.hostSide, "type", "veth", "peer", "name", "eth0", "netns", host.name);
      await ip("link", "set", host.hostSide, "master", bridge);
      await ip("link", "set", host.hostSide, "up");
      await ip("-n", host.name, "addr", "add", `${host.address}/24`, "dev", "eth0");
      await ip("-n", host.name, "link", "set", "eth0", "up");
      await ip("-n", host.name, "link", "set", "lo", "up");
    }
  } catch (error) {
    await cleanup();
    throw error;
  }
  return {
    hosts: hosts.map(({ name, address, interfaceName, hostSide }) => ({
      name,
      address,
      interfaceName,
      bridgePort: hostSide,
    })),
    setLink: async (index, up) => ip("-n", hosts[index]!.name, "link", "set", "eth0", up ? "up" : "down"),
    dispose: cleanup,
  };
}

/** A cable between two hosts of a test network: the addresses at its ends and its interface on the first. */
export interface Cable {
  /** `10.<n>.7`: a /30 of its own, next to the LAN's `10.<n>.0`. */
  subnet: string;
  first: string;
  second: string;
  /** The first host's end (`cable0`; the second's is `cable1`): `ip -n <first> link set cable0 down` pulls it. */
  interfaceName: string;
}

/**
 * A veth pair between `first` and `second` alone, on a /30 no other host shares: what herd takes for
 * a private cable (a Thunderbolt link between two machines). Goes with the namespaces.
 */
export async function addCable(
  first: TestNetwork["hosts"][number],
  second: TestNetwork["hosts"][number],
  options: { mtu?: number } = {},
): Promise<Cable> {
  const subnet = first.address.replace(/^10\.(\d+)\.0\.\d+$/, "10.$1.7");
  await ip(
    "-n",
    first.name,
    "link",
    "add",
    "cable0",
    "type",
    "veth",
    "peer",
    "name",
    "cable1",
    "netns",
    second.name,
  );
  for (const [host, end, address] of [
    [first, "cable0", `${subnet}.1`],
    [second, "cable1", `${subnet}.2`],
  ] as const) {
    if (options.mtu) await ip("-n", host.name, "link", "set", end, "mtu", String(options.mtu));
    await ip("-n", host.name, "addr", "add", `${address}/30`, "dev", end);
    await ip("-n", host.name, "link", "set", end, "up");
  }
  return { subnet, first: `${subnet}.1`, second: `${subnet}.2`, interfaceName: "cable0" };
}

/**
 * Removes the networks of test runs that were killed before `dispose()` (their namespaces outlive
 * them): each network's bridge names its owner's pid, and a network whose owner is gone, or whose
 * bridge is, is deleted.
 */
async function removeAbandonedNetworks(): Promise<void> {
  const namespaces = (await exec("ip", ["netns", "list"])).stdout
    .split("\n")
    .map((line) => /^herd-([0-9a-f]{4})-\d+/.exec(line))
    .filter((match) => match !== null);
  for (const tag of new Set(namespaces.map((match) => match[1]!))) {
    const bridge = await exec("ip", ["-o", "link", "show", `hbr${tag}`]).then(
      (result) => result.stdout,
      () => "",
    );
    const owner = Number(/alias herd-test pid=(\d+)/.exec(bridge)?.[1] ?? 0);
    if (owner > 0 && isProcessAlive(owner)) continue;
    for (const match of namespaces.filter((candidate) => candidate[1] === tag)) {
      await ip("netns", "delete", match[0]).catch(() => {});
    }
    await ip("link", "delete", `hbr${tag}`).catch(() => {});
  }
}

/** Sockets inside a namespace (`ss -tnpH`, listening or established): local, peer, and the owning process. */
export async function sockets(
  namespace: string,
  state: "listening" | "established",
): Promise<Array<{ local: string; peer: string; process: string }>> {
  const { stdout } = await exec("ip", ["netns", "exec", namespace, "ss", "-tnpH", "state", state]);
  return stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const columns = line.trim().split(/\s+/);
      // `state` given: Recv-Q Send-Q Local Peer Process.
      return {
        local: columns[2]!,
        peer: columns[3]!,
        process: /users:\(\("([^"]+)"/.exec(line)?.[1] ?? "?",
      };
    });
}
