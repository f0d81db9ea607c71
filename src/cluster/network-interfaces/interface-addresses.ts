import type { NetworkInterfaceInfo } from "node:os";
import type { InterfaceAddress } from "../../protocol/network-interface.js";

/** `os.networkInterfaces()`'s entries for one interface, as addresses with their prefix length. */
export function toInterfaceAddresses(entries: readonly NetworkInterfaceInfo[]): InterfaceAddress[] {
  return entries.map((entry) => {
    // Node before 18.4 gave the family as a number; herd needs 20, but the value is cheap to accept.
    const family = String(entry.family) === "6" || entry.family === "IPv6" ? "ipv6" : "ipv4";
    const prefix = entry.cidr ? Number(entry.cidr.slice(entry.cidr.lastIndexOf("/") + 1)) : undefined;
    return {
      address: entry.address,
      prefixLength: prefix ?? prefixLengthOfMask(entry.netmask),
      family,
    };
  });
}

/** `255.255.255.0` → 24, `ffff:ffff:ffff:ffff::` → 64, `0xffffff00` (macOS `ifconfig`) → 24. */
export function prefixLengthOfMask(mask: string): number {
  if (/^0x[0-9a-f]+$/i.test(mask)) return countBits(BigInt(mask));
  if (mask.includes(".")) return mask.split(".").reduce((sum, part) => sum + countBits(BigInt(part)), 0);
  return mask
    .split(":")
    .filter((part) => part !== "")
    .reduce((sum, part) => sum + countBits(BigInt(`0x${part}`)), 0);
}

function countBits(value: bigint): number {
  let count = 0;
  for (let rest = value; rest > 0n; rest >>= 1n) count += Number(rest & 1n);
  return count;
}
