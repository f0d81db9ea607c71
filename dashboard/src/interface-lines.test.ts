import { describe, expect, it } from "vitest";
import { testNodeProfile } from "../../src/cluster/test-node-profile.js";
import { interfaceLines } from "./interface-lines.js";

describe("interfaceLines", () => {
  it("lists the usable interfaces, link-local addresses only where there is nothing else", () => {
    const profile = testNodeProfile({
      interfaces: [
        {
          name: "lo0",
          kind: "loopback",
          addresses: [{ address: "127.0.0.1", prefixLength: 8, family: "ipv4" }],
          up: true,
          rdma: false,
        },
        {
          name: "en2",
          kind: "thunderbolt",
          addresses: [
            { address: "fe80::1", prefixLength: 64, family: "ipv6" },
            { address: "10.254.0.1", prefixLength: 30, family: "ipv4" },
          ],
          up: true,
          rdma: true,
          rdmaDevice: "rdma_en2",
        },
        {
          name: "en3",
          kind: "thunderbolt",
          addresses: [{ address: "fe80::3", prefixLength: 64, family: "ipv6" }],
          up: true,
          rdma: false,
        },
        {
          name: "en0",
          kind: "wifi",
          addresses: [{ address: "192.168.1.20", prefixLength: 24, family: "ipv4" }],
          up: false,
          rdma: false,
        },
      ],
    });
    expect(interfaceLines(profile)).toEqual([
      "en2 thunderbolt 10.254.0.1/30 · RDMA",
      "en3 thunderbolt fe80::3/64",
    ]);
  });

  it("is empty for a node that reports no interfaces", () => {
    expect(interfaceLines(null)).toEqual([]);
    expect(interfaceLines(testNodeProfile())).toEqual([]);
  });
});
