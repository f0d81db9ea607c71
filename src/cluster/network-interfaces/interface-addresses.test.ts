import type { NetworkInterfaceInfo } from "node:os";
import { describe, expect, it } from "vitest";
import { prefixLengthOfMask, toInterfaceAddresses } from "./interface-addresses.js";

describe("prefixLengthOfMask", () => {
  it.each([
    ["255.255.255.0", 24],
    ["255.255.255.252", 30],
    ["255.0.0.0", 8],
    ["0.0.0.0", 0],
    ["ffff:ffff:ffff:ffff::", 64],
    ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128],
    ["0xffffff00", 24],
    ["0xffff0000", 16],
    ["0xff000000", 8],
  ])("%s is /%i", (mask, expected) => {
    expect(prefixLengthOfMask(mask)).toBe(expected);
  });
});

describe("toInterfaceAddresses", () => {
  it("takes the prefix from cidr, or from the netmask where cidr is null", () => {
    const entries: NetworkInterfaceInfo[] = [
      {
        address: "192.168.1.20",
        netmask: "255.255.255.0",
        family: "IPv4",
        mac: "3c:07:54:00:00:01",
        internal: false,
        cidr: "192.168.1.20/24",
      },
      {
        address: "fe80::3e07:54ff:fe00:1",
        netmask: "ffff:ffff:ffff:ffff::",
        family: "IPv6",
        mac: "3c:07:54:00:00:01",
        internal: false,
        cidr: null,
        scopeid: 2,
      },
    ];
    expect(toInterfaceAddresses(entries)).toEqual([
      { address: "192.168.1.20", prefixLength: 24, family: "ipv4" },
      { address: "fe80::3e07:54ff:fe00:1", prefixLength: 64, family: "ipv6" },
    ]);
  });
});
