import { describe, expect, it } from "vitest";
import type { InterfaceAddress } from "../protocol/network-interface.js";
import { addressValue, inSubnetOf, isLinkLocal, needsScope } from "./address-math.js";

const v4 = (address: string, prefixLength: number): InterfaceAddress => ({
  address,
  prefixLength,
  family: "ipv4",
});
const v6 = (address: string, prefixLength: number): InterfaceAddress => ({
  address,
  prefixLength,
  family: "ipv6",
});

describe("addressValue", () => {
  it.each([
    ["10.0.0.1", 0x0a000001n],
    ["255.255.255.255", 0xffffffffn],
    ["::1", 1n],
    ["fe80::1", (0xfe80n << 112n) | 1n],
    ["fd00:77::1", (0xfd00n << 112n) | (0x77n << 96n) | 1n],
    ["::ffff:10.0.0.1", (0xffffn << 32n) | 0x0a000001n],
    ["2001:db8:0:0:0:0:0:2", (0x2001n << 112n) | (0xdb8n << 96n) | 2n],
    ["fe80::1%en0", (0xfe80n << 112n) | 1n],
    ["not an address", undefined],
  ])("%s", (address, expected) => {
    expect(addressValue(address)).toBe(expected);
  });
});

describe("inSubnetOf", () => {
  it.each([
    [v4("192.168.1.20", 24), v4("192.168.1.31", 24), true],
    [v4("192.168.1.20", 24), v4("192.168.2.31", 24), false],
    [v4("10.254.0.1", 30), v4("10.254.0.2", 30), true],
    [v4("10.254.0.1", 30), v4("10.254.0.5", 30), false],
    [v4("10.0.0.1", 8), v4("10.200.0.1", 24), true],
    [v6("fd00:77::1", 64), v6("fd00:77::2", 64), true],
    [v6("fd00:77::1", 64), v6("fd00:78::2", 64), false],
    [v4("10.0.0.1", 24), v6("fd00::1", 64), false],
  ])("%j holds %j: %s", (address, other, expected) => {
    expect(inSubnetOf(address, other)).toBe(expected);
  });
});

describe("isLinkLocal", () => {
  it.each([
    [v4("169.254.10.1", 16), true],
    [v4("169.255.0.1", 16), false],
    [v4("192.168.1.20", 24), false],
    [v6("fe80::1", 64), true],
    [v6("febf::1", 64), true],
    [v6("fec0::1", 64), false],
    [v6("fd00::1", 64), false],
  ])("%j: %s", (address, expected) => {
    expect(isLinkLocal(address)).toBe(expected);
  });
});

describe("needsScope", () => {
  it.each([
    ["fe80::2", true],
    ["FE80::2", true],
    ["fe9a::1", true],
    ["fd00::1", false],
    ["169.254.10.2", false],
    ["10.0.0.2", false],
  ])("%s: %s", (address, expected) => {
    expect(needsScope(address)).toBe(expected);
  });
});
