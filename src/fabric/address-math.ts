import { isIPv4, isIPv6 } from "node:net";
import type { InterfaceAddress } from "../protocol/network-interface.js";

/** An address as a number (32 bits for IPv4, 128 for IPv6); undefined where it does not parse. */
export function addressValue(address: string): bigint | undefined {
  if (isIPv4(address)) return address.split(".").reduce((value, part) => (value << 8n) | BigInt(part), 0n);
  if (!isIPv6(address)) return undefined;
  const withoutZone = address.split("%")[0]!;
  // An IPv4 tail (`::ffff:10.0.0.1`) is two 16-bit groups.
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(withoutZone)?.[1];
  const text = tail
    ? withoutZone.replace(tail, () => {
        const value = addressValue(tail)!;
        return `${(value >> 16n).toString(16)}:${(value & 0xffffn).toString(16)}`;
      })
    : withoutZone;
  const [head = "", rest] = text.split("::");
  const headGroups = head ? head.split(":") : [];
  const restGroups = rest ? rest.split(":") : [];
  const groups =
    rest === undefined
      ? headGroups
      : [...headGroups, ...Array(8 - headGroups.length - restGroups.length).fill("0"), ...restGroups];
  return groups.reduce((value, group) => (value << 16n) | BigInt(`0x${group}`), 0n);
}

/** Whether `other` lies in `address`'s subnet (its address under its own prefix). */
export function inSubnetOf(address: InterfaceAddress, other: InterfaceAddress): boolean {
  if (address.family !== other.family) return false;
  const bits = address.family === "ipv4" ? 32n : 128n;
  const own = addressValue(address.address);
  const candidate = addressValue(other.address);
  if (own === undefined || candidate === undefined) return false;
  const hostBits = bits - BigInt(address.prefixLength);
  return own >> hostBits === candidate >> hostBits;
}

/** IPv4 169.254.0.0/16 or IPv6 fe80::/10: valid only on the link it was made on. */
export function isLinkLocal(address: InterfaceAddress): boolean {
  const value = addressValue(address.address);
  if (value === undefined) return false;
  return address.family === "ipv4" ? value >> 16n === 0xa9fen : value >> 118n === 0x3fan;
}

/**
 * An IPv6 link-local address (fe80::/10): one that a socket reaches only with the interface it
 * leaves by as its scope (`fe80::2%en1`), since every link has the same prefix.
 */
export function needsScope(address: string): boolean {
  return isIPv6(address) && isLinkLocal({ address, family: "ipv6", prefixLength: 64 });
}
