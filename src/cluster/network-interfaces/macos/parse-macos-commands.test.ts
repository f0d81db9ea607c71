import { describe, expect, it } from "vitest";
import { readFixture } from "./fixture.js";
import { parseHardwarePorts } from "./parse-hardware-ports.js";
import { mediaSpeedMbps, parseIfconfig } from "./parse-ifconfig.js";
import { isVersionAtLeast, parseMacosVersion, parseRdmaControlStatus } from "./parse-macos-facts.js";
import { parseThunderboltPorts } from "./parse-thunderbolt-ports.js";

describe("parseHardwarePorts", () => {
  it.each([
    [
      "macbook-pro-networksetup.txt",
      [
        { port: "Wi-Fi", device: "en0" },
        { port: "Thunderbolt Bridge", device: "bridge0" },
        { port: "Thunderbolt 1", device: "en1" },
        { port: "Thunderbolt 2", device: "en2" },
        { port: "Thunderbolt 3", device: "en3" },
        { port: "USB 10/100/1G/2.5G LAN", device: "en7" },
      ],
    ],
    [
      "mac-mini-networksetup.txt",
      [
        { port: "Ethernet", device: "en0" },
        { port: "Thunderbolt Bridge", device: "bridge0" },
        { port: "Wi-Fi", device: "en1" },
        { port: "Thunderbolt 1", device: "en2" },
        { port: "Thunderbolt 2", device: "en3" },
      ],
    ],
  ])("%s", (fixture, expected) => {
    expect(parseHardwarePorts(readFixture(fixture))).toEqual(expected);
  });
});

describe("parseIfconfig", () => {
  const macbook = parseIfconfig(readFixture("macbook-pro-ifconfig.txt"));
  const byName = (name: string) => macbook.find((entry) => entry.name === name);

  it("lists every interface in order", () => {
    expect(macbook.map((entry) => entry.name)).toEqual([
      "lo0",
      "gif0",
      "stf0",
      "anpi0",
      "en1",
      "en2",
      "en3",
      "bridge0",
      "ap1",
      "en0",
      "awdl0",
      "llw0",
      "utun0",
      "utun4",
      "en7",
    ]);
  });

  it.each([
    [
      "lo0",
      {
        flags: ["UP", "LOOPBACK", "RUNNING", "MULTICAST"],
        mtu: 16384,
        addresses: [
          { address: "127.0.0.1", prefixLength: 8, family: "ipv4" },
          { address: "::1", prefixLength: 128, family: "ipv6" },
          { address: "fe80::1", prefixLength: 64, family: "ipv6" },
        ],
        members: [],
      },
    ],
    ["stf0", { flags: [], mtu: 1280, addresses: [], members: [] }],
    [
      "en2",
      {
        mtu: 1500,
        addresses: [
          { address: "fe80::c1f:8a2e:6b1d:4e02", prefixLength: 64, family: "ipv6" },
          { address: "10.254.0.1", prefixLength: 30, family: "ipv4" },
        ],
        media: "autoselect <full-duplex>",
        status: "active",
      },
    ],
    ["bridge0", { members: ["en1", "en3"], status: "active" }],
    [
      "utun4",
      {
        mtu: 1280,
        addresses: [
          { address: "100.101.102.103", prefixLength: 32, family: "ipv4" },
          { address: "fd7a:115c:a1e0::1f01:6667", prefixLength: 48, family: "ipv6" },
        ],
      },
    ],
    ["en7", { mtu: 9000, media: "autoselect (2500Base-T <full-duplex>)", status: "active" }],
    ["ap1", { flags: ["BROADCAST", "SIMPLEX", "MULTICAST"], media: "autoselect" }],
  ])("%s", (name, expected) => {
    expect(byName(name)).toMatchObject(expected);
  });
});

describe("mediaSpeedMbps", () => {
  it.each([
    ["autoselect (1000baseT <full-duplex>)", 1000],
    ["autoselect (10Gbase-T <full-duplex,flow-control>)", 10000],
    ["autoselect (2500Base-T <full-duplex>)", 2500],
    ["autoselect (100baseTX <full-duplex>)", 100],
    ["autoselect", undefined],
    ["autoselect <full-duplex>", undefined],
    ["autoselect (<unknown type>)", undefined],
    [undefined, undefined],
  ])("%s → %s", (media, expected) => {
    expect(mediaSpeedMbps(media)).toBe(expected);
  });
});

describe("parseThunderboltPorts", () => {
  it.each([
    [
      "macbook-pro-thunderbolt.txt",
      [
        { receptacle: 1, maxGbps: 120, connected: false },
        { receptacle: 2, maxGbps: 120, connected: true },
        { receptacle: 3, maxGbps: 120, connected: true },
      ],
    ],
    [
      "mac-mini-thunderbolt.txt",
      [
        { receptacle: 1, maxGbps: 40, connected: true },
        { receptacle: 2, maxGbps: 40, connected: false },
      ],
    ],
  ])("%s", (fixture, expected) => {
    expect(parseThunderboltPorts(readFixture(fixture))).toEqual(expected);
  });

  it("rejects output that is not the data type's JSON", () => {
    expect(() => parseThunderboltPorts("not json")).toThrow();
    expect(() => parseThunderboltPorts('{"other": []}')).toThrow(/SPThunderboltDataType/);
  });
});

describe("parseRdmaControlStatus", () => {
  it.each([
    ["enabled\n", "enabled"],
    ["disabled\n", "disabled"],
    ["Enabled", "enabled"],
    ["rdma_ctl: operation not permitted\n", "unknown"],
    ["", "unknown"],
  ])("%j → %s", (output, expected) => {
    expect(parseRdmaControlStatus(output)).toBe(expected);
  });
});

describe("macOS versions", () => {
  it.each([
    ["26.2\n", [26, 2]],
    ["15.6.1\n", [15, 6, 1]],
    ["26\n", [26]],
    ["ProductVersion: 26.2\n", undefined],
  ])("parseMacosVersion(%j)", (output, expected) => {
    expect(parseMacosVersion(output)).toEqual(expected);
  });

  it.each([
    [[26, 2], true],
    [[26, 2, 1], true],
    [[26, 10], true],
    [[27], true],
    [[26, 1, 9], false],
    [[26], false],
    [[15, 6, 1], false],
  ])("%j is 26.2 or later: %s", (version, expected) => {
    expect(isVersionAtLeast(version, [26, 2])).toBe(expected);
  });
});
