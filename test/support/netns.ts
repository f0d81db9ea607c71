import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";

const exec = promisify(execFile);

async function ip(...args: string[]): Promise<void> {
  await exec("ip", args);
}

/** Runs a command inside a namespace. */
export async function inNamespace(namespace: string, ...command: string[]): Promise<string> {
  return (await exec("ip", ["netns", "exec", namespace, ...command])).stdout;
}

export interface TestNetwork {
  /** `{ name, address }` of each host, in order. */
  hosts: Array<{ name: string; address: string; interfaceName: string }>;
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
    hosts: hosts.map(({ name, address, interfaceName }) => ({ name, address, interfaceName })),
    setLink: async (index, up) => ip("-n", hosts[index]!.name, "link", "set", "eth0", up ? "up" : "down"),
    dispose: cleanup,
  };
}
