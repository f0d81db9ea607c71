import { describe, expect, it } from "vitest";
import type { NetworkInterface } from "../protocol/network-interface.js";
import { findPaths } from "./find-paths.js";
import { isPrivatePath } from "./is-private-path.js";
import { testInterface } from "./test-interfaces.js";

const interfaceNamed = testInterface;

const studio = [
  interfaceNamed("en0", "wifi", ["192.168.1.20/24"]),
  interfaceNamed("en2", "thunderbolt", ["169.254.10.1/16"]),
  interfaceNamed("en5", "ethernet", ["10.254.0.1/30"]),
];
const m5 = [
  interfaceNamed("en0", "wifi", ["192.168.1.31/24"]),
  interfaceNamed("en1", "thunderbolt", ["169.254.10.2/16"]),
  interfaceNamed("en6", "ethernet", ["10.254.0.2/30"]),
];
const mini = [interfaceNamed("en0", "ethernet", ["192.168.1.40/24"])];
const chainedMac = [
  interfaceNamed("en0", "ethernet", ["192.168.1.50/24"]),
  interfaceNamed("bridge0", "thunderbolt", ["169.254.3.3/16"]),
];
const onTheSlash30 = [interfaceNamed("en9", "ethernet", ["10.254.0.3/30"])];

/** Each path from studio to m5, by its interface pair, and whether it is private among `others`. */
function privacy(others: NetworkInterface[][]): Record<string, boolean> {
  return Object.fromEntries(
    findPaths(studio, m5).map((path) => [
      `${path.from.interface}-${path.to.interface}`,
      isPrivatePath(path, studio, others),
    ]),
  );
}

describe("isPrivatePath", () => {
  it.each([
    [
      "two machines alone: the LAN is still shared with whatever else is on it",
      [],
      { "en0-en0": false, "en2-en1": true, "en5-en6": true },
    ],
    ["a third machine on the LAN", [mini], { "en0-en0": false, "en2-en1": true, "en5-en6": true }],
    [
      "a third Mac on Thunderbolt: link-local cannot tell which cable",
      [chainedMac],
      { "en0-en0": false, "en2-en1": false, "en5-en6": true },
    ],
    [
      "a third machine on the point-to-point subnet",
      [onTheSlash30],
      { "en0-en0": false, "en2-en1": true, "en5-en6": false },
    ],
  ])("%s", (_, others, expected) => {
    expect(privacy(others)).toEqual(expected);
  });

  it("is not private where the path's address is not on the interface named", () => {
    const [path] = findPaths(studio, m5);
    expect(isPrivatePath(path!, [], [])).toBe(false);
  });
});
