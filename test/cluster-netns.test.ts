import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatJoinToken } from "../src/cluster/join-token.js";
import type { ClusterView } from "../src/protocol/cluster.js";
import { HerdProcess, stopAllHerdProcesses, waitFor } from "./support/herd-process.js";
import { createTestNetwork, type TestNetwork } from "./support/netns.js";

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
    const token = formatJoinToken({ key: randomBytes(32), addresses: [] });
    nodes = await Promise.all(
      network.hosts.map((host, index) =>
        HerdProcess.start({
          netns: host,
          port: 52415,
          clusterPort: 52416,
          args: ["--host", "0.0.0.0", "--join", token, "--name", `host${index + 1}`, "--discovery"],
        }),
      ),
    );
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
