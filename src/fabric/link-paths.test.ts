import { describe, expect, it } from "vitest";
import { bestLink, linkCost, linkPaths } from "./link-paths.js";
import { testMachines } from "./test-interfaces.js";

describe("linkPaths", () => {
  it("marks the cable between two machines private and the LAN they share with a third not", () => {
    const { studio, m5, mini } = testMachines;
    expect(
      linkPaths(studio, m5, [mini]).map((path) => [
        path.fromAddress,
        path.toAddress,
        path.kind,
        path.private,
      ]),
    ).toEqual([
      ["192.168.1.20", "192.168.1.31", "wifi", false],
      ["169.254.10.1", "169.254.10.2", "thunderbolt", true],
    ]);
    expect(linkPaths(studio, mini, [m5]).map((path) => [path.toAddress, path.private])).toEqual([
      ["192.168.1.40", false],
    ]);
  });
});

describe("bestLink", () => {
  const cable = { name: "cable", rttMs: 0.02, throughputBytesPerSecond: 7e9 };
  const wifi = { name: "wifi", rttMs: 3.1, throughputBytesPerSecond: 64e6 };
  const lan = { name: "lan", rttMs: 0.3, throughputBytesPerSecond: 117e6 };
  const slowButNear = { name: "near", rttMs: 0.1, throughputBytesPerSecond: 1e6 };
  const unprobed = { name: "unprobed", rttMs: 0.3, throughputBytesPerSecond: 0 };
  it.each([
    ["a cable beats Wi-Fi", [wifi, cable], "cable"],
    ["wired beats Wi-Fi", [wifi, lan], "lan"],
    ["a megabyte a second loses to a longer round trip with bandwidth", [slowButNear, lan], "lan"],
    ["an unprobed path counts as gigabit Ethernet", [unprobed, wifi], "unprobed"],
    ["the only one", [wifi], "wifi"],
  ])("%s", (_situation, links, expected) => {
    expect(bestLink(links)?.name).toBe(expected);
  });

  it("is undefined without measurements, and weighs a round trip and a megabyte", () => {
    expect(bestLink([])).toBeUndefined();
    expect(linkCost({ rttMs: 1, throughputBytesPerSecond: 1e6 })).toBeCloseTo(1.001);
  });
});
