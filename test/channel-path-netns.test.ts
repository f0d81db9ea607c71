import { afterAll, expect, it } from "vitest";
import {
  type HerdProcess,
  startInNamespaces,
  stopAllHerdProcesses,
  waitFor,
} from "./support/herd-process.js";
import {
  addCable,
  type Cable,
  createTestNetwork,
  inNamespace,
  sockets,
  type TestNetwork,
} from "./support/netns.js";

const clusterPort = 52416;

let network: TestNetwork | undefined;
afterAll(async () => {
  await stopAllHerdProcesses();
  await network?.dispose();
});

/** The addresses the cluster channel between the hosts is established on, as seen on the first host. */
async function channelAddresses(host: string): Promise<string[]> {
  const established = await sockets(host, "established");
  return established
    .filter((socket) => socket.local.endsWith(`:${clusterPort}`) || socket.peer.endsWith(`:${clusterPort}`))
    .filter((socket) => socket.process === "node")
    .map((socket) => `${socket.local} ${socket.peer}`);
}

/**
 * Two hosts that met over a cable while the LAN between them was cut (a blackhole route on the first
 * host to the second's LAN address; the test still reaches both over the bridge): their cluster
 * channel runs over the cable. Pulling it sends no reset: the TCP connection stays established for as
 * long as the kernel retransmits, many minutes.
 */
it.runIf(process.platform === "linux")(
  "finds a peer again over the LAN when the cable its channel ran on is pulled",
  async () => {
    network = await createTestNetwork(2);
    const [first, second] = network.hosts as [TestNetwork["hosts"][0], TestNetwork["hosts"][0]];
    const cable: Cable = await addCable(first, second);
    const lanCut = ["blackhole", `${second.address}/32`];
    await inNamespace(first.name, "ip", "route", "add", ...lanCut);
    const nodes = await startInNamespaces(network.hosts, cable.first);
    const [one] = nodes as [HerdProcess, HerdProcess];
    const alive = async () => {
      const view = await one.client.cluster();
      const peer = view.nodes.find((node) => node.name === "host2");
      return peer?.state === "alive" && peer.lastSeenMsAgo < 2000 ? view : undefined;
    };
    await waitFor("host1 to see host2 alive over the cable", alive);
    const overCable = await channelAddresses(first.name);
    expect(overCable.length, overCable.join("\n")).toBeGreaterThan(0);
    expect(
      overCable.every((pair) => pair.includes(cable.first)),
      overCable.join("\n"),
    ).toBe(true);

    // The dialers stop trying the LAN addresses once the channel is open (their next attempt, within
    // 5 s): with the LAN back, nothing moves the channel off the cable.
    await new Promise((resolve) => setTimeout(resolve, 8000));
    await inNamespace(first.name, "ip", "route", "del", ...lanCut);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await channelAddresses(first.name)).toEqual(overCable);
    await inNamespace(first.name, "ip", "link", "set", cable.interfaceName, "down");
    const pulledAt = Date.now();
    const overLan = await waitFor(
      "host1 and host2 to speak again over the LAN",
      async () => {
        const channel = await channelAddresses(first.name);
        return (await alive()) && channel.length > 0 && channel.every((pair) => pair.includes(first.address))
          ? channel
          : undefined;
      },
      30_000,
    );
    console.log(
      `cable pulled to host2 alive again over the LAN: ${Date.now() - pulledAt} ms (${overLan.join(", ")})`,
    );
    const seenBySecond = await nodes[1]!.client.cluster();
    expect(seenBySecond.nodes.find((node) => node.name === "host1")?.state).toBe("alive");
  },
  180_000,
);
