import { describe, expect, it } from "vitest";
import { describeMacosInterfaces, type MacosFacts } from "./describe-macos-interfaces.js";
import { readFixture } from "./fixture.js";
import { parseHardwarePorts } from "./parse-hardware-ports.js";
import { parseIfconfig } from "./parse-ifconfig.js";
import { parseThunderboltPorts } from "./parse-thunderbolt-ports.js";

const machine = (name: "macbook-pro" | "mac-mini", overrides: Partial<MacosFacts> = {}): MacosFacts => ({
  hardwarePorts: parseHardwarePorts(readFixture(`${name}-networksetup.txt`)),
  interfaces: parseIfconfig(readFixture(`${name}-ifconfig.txt`)),
  thunderboltPorts: parseThunderboltPorts(readFixture(`${name}-thunderbolt.txt`)),
  version: [26, 2],
  rdmaControl: "enabled",
  ...overrides,
});

const find = (facts: MacosFacts, name: string) =>
  describeMacosInterfaces(facts).find((entry) => entry.name === name);

describe("describeMacosInterfaces", () => {
  it("names each interface's kind on the MacBook Pro", () => {
    const kinds = Object.fromEntries(
      describeMacosInterfaces(machine("macbook-pro")).map((entry) => [entry.name, entry.kind]),
    );
    expect(kinds).toEqual({
      lo0: "loopback",
      gif0: "virtual",
      stf0: "virtual",
      anpi0: "virtual",
      en1: "thunderbolt",
      en2: "thunderbolt",
      en3: "thunderbolt",
      bridge0: "thunderbolt",
      ap1: "virtual",
      en0: "wifi",
      awdl0: "virtual",
      llw0: "virtual",
      utun0: "virtual",
      utun4: "virtual",
      en7: "ethernet",
    });
  });

  it("reports the Thunderbolt 5 port outside the bridge as RDMA-capable, with its address", () => {
    expect(find(machine("macbook-pro"), "en2")).toEqual({
      name: "en2",
      kind: "thunderbolt",
      addresses: [
        { address: "fe80::c1f:8a2e:6b1d:4e02", prefixLength: 64, family: "ipv6" },
        { address: "10.254.0.1", prefixLength: 30, family: "ipv4" },
      ],
      mtu: 1500,
      up: true,
      rdma: true,
      rdmaDevice: "rdma_en2",
    });
  });

  it("reports a wired adapter's negotiated speed and MTU", () => {
    expect(find(machine("macbook-pro"), "en7")).toMatchObject({
      kind: "ethernet",
      speedMbps: 2500,
      mtu: 9000,
      up: true,
      rdma: false,
    });
    expect(find(machine("mac-mini"), "en0")).toMatchObject({ kind: "ethernet", speedMbps: 10000 });
  });

  it("reports an interface without a link, or not up, as down", () => {
    expect(find(machine("macbook-pro"), "en1")).toMatchObject({ up: false });
    expect(find(machine("macbook-pro"), "ap1")).toMatchObject({ up: false });
    expect(find(machine("mac-mini"), "en1")).toMatchObject({ kind: "wifi", up: false });
    expect(find(machine("macbook-pro"), "utun4")).toMatchObject({ up: true });
  });

  const rows: Array<[string, MacosFacts, string, string]> = [
    [
      "a Thunderbolt port still in the bridge",
      machine("macbook-pro"),
      "en3",
      "it is a member of bridge0: RDMA needs the port taken out of the Thunderbolt Bridge",
    ],
    [
      "the bridge itself",
      machine("macbook-pro"),
      "bridge0",
      "a bridge: RDMA runs on a Thunderbolt port's own interface, outside any bridge",
    ],
    [
      "macOS older than 26.2",
      machine("macbook-pro", { version: [26, 1], rdmaControl: "missing" }),
      "en2",
      "macOS 26.1 has no RDMA over Thunderbolt (26.2 or later has)",
    ],
    [
      "RDMA not enabled with rdma_ctl",
      machine("macbook-pro", { rdmaControl: "disabled" }),
      "en2",
      "RDMA is not enabled: run 'rdma_ctl enable' in macOS Recovery, then restart",
    ],
    [
      "a Thunderbolt 4 port on macOS 26.2",
      machine("mac-mini"),
      "en2",
      "Thunderbolt port 1 is not Thunderbolt 5 (up to 40 Gb/s); RDMA needs Thunderbolt 5",
    ],
    [
      "system_profiler unreadable",
      machine("macbook-pro", { thunderboltPorts: undefined }),
      "en2",
      "the generation of Thunderbolt port 2 is unknown",
    ],
    [
      "sw_vers unreadable",
      machine("macbook-pro", { version: undefined }),
      "en2",
      "the macOS version could not be read",
    ],
  ];
  it.each(rows)("says why RDMA is not possible: %s", (_, facts, name, reason) => {
    const entry = find(facts, name);
    expect(entry).toMatchObject({ rdma: false, rdmaUnavailable: reason });
    expect(entry).not.toHaveProperty("rdmaDevice");
  });

  it("gives no RDMA reason for interfaces that are not Thunderbolt", () => {
    for (const entry of describeMacosInterfaces(machine("macbook-pro"))) {
      if (entry.kind !== "thunderbolt") expect(entry).not.toHaveProperty("rdmaUnavailable");
    }
  });
});
