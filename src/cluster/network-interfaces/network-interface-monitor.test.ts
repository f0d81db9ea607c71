import { describe, expect, it } from "vitest";
import type { NetworkInterface } from "../../protocol/network-interface.js";
import { NetworkInterfaceMonitor } from "./network-interface-monitor.js";

const loopback: NetworkInterface = { name: "lo", kind: "loopback", addresses: [], up: true, rdma: false };
const cable: NetworkInterface = {
  name: "thunderbolt0",
  kind: "thunderbolt",
  addresses: [],
  up: true,
  rdma: false,
};

describe("NetworkInterfaceMonitor", () => {
  it("shows what was read last, and keeps it when a later read fails", async () => {
    const answers: Array<NetworkInterface[] | Error> = [
      [loopback],
      [loopback, cable],
      new Error("gone"),
      new Error("still gone"),
      [loopback],
      new Error("gone again"),
    ];
    const errors: unknown[] = [];
    const monitor = new NetworkInterfaceMonitor({
      read: async () => {
        const answer = answers.shift()!;
        if (answer instanceof Error) throw answer;
        return answer;
      },
      refreshMs: 60_000,
      onError: (error) => errors.push(error),
    });
    expect(monitor.current()).toBeUndefined();
    await monitor.start();
    expect(monitor.current()).toEqual([loopback]);
    await monitor.refresh();
    expect(monitor.current()).toEqual([loopback, cable]);
    await monitor.refresh();
    expect(monitor.current()).toEqual([loopback, cable]);
    await monitor.refresh();
    await monitor.refresh();
    expect(monitor.current()).toEqual([loopback]);
    await monitor.refresh();
    expect(errors).toEqual([new Error("gone"), new Error("gone again")]);
    await monitor.dispose();
    await monitor.dispose();
  });

  it("reads again on its own every refreshMs", async () => {
    let reads = 0;
    const monitor = new NetworkInterfaceMonitor({
      read: async () => Array.from({ length: ++reads }, () => loopback),
      refreshMs: 20,
    });
    await monitor.start();
    await new Promise((resolve) => setTimeout(resolve, 150));
    await monitor.dispose();
    const seen = monitor.current()!.length;
    expect(seen).toBeGreaterThan(2);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(monitor.current()!.length).toBe(seen);
  });

  it("reads at once when what it watches changes, long before the next refresh", async () => {
    let reads = 0;
    let addresses = "en0 192.168.1.20";
    const monitor = new NetworkInterfaceMonitor({
      read: async () => Array.from({ length: ++reads }, () => loopback),
      refreshMs: 60_000,
      watch: () => addresses,
      watchMs: 10,
    });
    await monitor.start();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(reads).toBe(1);
    addresses = "en0 192.168.1.20\nen2 169.254.10.1";
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(reads).toBe(2);
    expect(monitor.current()).toHaveLength(2);
    await monitor.dispose();
  });
});
