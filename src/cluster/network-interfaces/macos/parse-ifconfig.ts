import type { InterfaceAddress } from "../../../protocol/network-interface.js";
import { prefixLengthOfMask } from "../interface-addresses.js";

/** One interface as macOS `ifconfig` lists it. */
export interface IfconfigEntry {
  name: string;
  /** The names in `flags=8863<UP,BROADCAST,...>`. */
  flags: string[];
  mtu?: number;
  addresses: InterfaceAddress[];
  /** `media:`'s value, e.g. `autoselect (1000baseT <full-duplex>)`. */
  media?: string;
  /** `status:`'s value: `active` or `inactive`; absent on interfaces without a link state. */
  status?: string;
  /** A bridge's `member:` interfaces. */
  members: string[];
}

/** Parses the output of `ifconfig` with no arguments (every interface, BSD format). */
export function parseIfconfig(output: string): IfconfigEntry[] {
  const entries: IfconfigEntry[] = [];
  let current: IfconfigEntry | undefined;
  for (const line of output.split("\n")) {
    const header = /^([^\s:]+): flags=[0-9a-f]+<([^>]*)>(?: mtu (\d+))?/.exec(line);
    if (header) {
      current = {
        name: header[1]!,
        flags: header[2] ? header[2].split(",") : [],
        ...(header[3] ? { mtu: Number(header[3]) } : {}),
        addresses: [],
        members: [],
      };
      entries.push(current);
      continue;
    }
    if (!current) continue;
    const text = line.trim();
    const inet = /^inet (\S+)(?: --> \S+)? netmask (0x[0-9a-f]+)/.exec(text);
    if (inet) {
      current.addresses.push({
        address: inet[1]!,
        prefixLength: prefixLengthOfMask(inet[2]!),
        family: "ipv4",
      });
      continue;
    }
    const inet6 = /^inet6 ([^\s%]+)(?:%\S+)? prefixlen (\d+)/.exec(text);
    if (inet6) {
      current.addresses.push({ address: inet6[1]!, prefixLength: Number(inet6[2]), family: "ipv6" });
      continue;
    }
    const field = /^(media|status|member): (\S.*)$/.exec(text);
    if (field?.[1] === "media") current.media = field[2]!.trim();
    else if (field?.[1] === "status") current.status = field[2]!.trim();
    else if (field?.[1] === "member") current.members.push(field[2]!.split(" ")[0]!);
  }
  return entries;
}

/** The negotiated rate in `media:` (`autoselect (10Gbase-T <full-duplex>)` → 10000), in Mb/s. */
export function mediaSpeedMbps(media: string | undefined): number | undefined {
  const match = /\((\d+)(G?)base/i.exec(media ?? "");
  if (!match) return undefined;
  return Number(match[1]) * (match[2] ? 1000 : 1);
}
