import { runCommand } from "../../../engine/run-command.js";
import type { NetworkInterface } from "../../../protocol/network-interface.js";
import { describeMacosInterfaces } from "./describe-macos-interfaces.js";
import { type HardwarePort, parseHardwarePorts } from "./parse-hardware-ports.js";
import { parseIfconfig } from "./parse-ifconfig.js";
import { parseMacosVersion, parseRdmaControlStatus, type RdmaControlStatus } from "./parse-macos-facts.js";
import { parseThunderboltPorts, type ThunderboltPort } from "./parse-thunderbolt-ports.js";

/** What changes only with a restart or new hardware: read once, not at every refresh. */
export interface MacosMachineFacts {
  thunderboltPorts: ThunderboltPort[] | undefined;
  version: number[] | undefined;
  rdmaControl: RdmaControlStatus;
}

const commandTimeoutMs = 15_000;

/** Runs a command and returns its standard output; undefined where it is missing or fails. */
async function outputOf(command: string, args: string[]): Promise<string | undefined> {
  // A missing command or a failure leaves that fact unknown; the interfaces are still worth reporting.
  const result = await runCommand(command, args, { timeoutMs: commandTimeoutMs }).catch(() => undefined);
  return result?.code === 0 ? result.stdout : undefined;
}

/** The macOS version, Thunderbolt ports and `rdma_ctl status` of this Mac. */
export async function readMacosMachineFacts(): Promise<MacosMachineFacts> {
  const [version, profile, rdmaControl] = await Promise.all([
    outputOf("/usr/bin/sw_vers", ["-productVersion"]),
    outputOf("/usr/sbin/system_profiler", ["SPThunderboltDataType", "-json"]),
    runCommand("/usr/bin/rdma_ctl", ["status"], { timeoutMs: commandTimeoutMs }).then(
      (result) => (result.code === 0 ? parseRdmaControlStatus(result.stdout) : ("unknown" as const)),
      // Spawning fails with ENOENT where macOS has no rdma_ctl (before 26.2).
      () => "missing" as const,
    ),
  ]);
  let thunderboltPorts: ThunderboltPort[] | undefined;
  try {
    thunderboltPorts = profile === undefined ? undefined : parseThunderboltPorts(profile);
  } catch {
    // Output in a shape herd does not know: the ports' generation stays unknown, which the report says.
    thunderboltPorts = undefined;
  }
  return { thunderboltPorts, version: version ? parseMacosVersion(version) : undefined, rdmaControl };
}

/** Runs a command and returns its standard output; undefined where it is missing or fails. */
export type CommandOutput = (command: string, args: string[]) => Promise<string | undefined>;

/**
 * Reads this Mac's interfaces, each call afresh: `ifconfig` every time (addresses, status, MTU,
 * media), `networksetup -listallhardwareports` (which port each interface is) only on the first
 * read and when `ifconfig` lists another set of interfaces (an adapter plugged in, a VPN up), and
 * the machine's facts (`readMacosMachineFacts`) once. A refresh is then one short command, not two.
 */
export function macosInterfaceReader(
  run: CommandOutput = outputOf,
  machineFacts: () => Promise<MacosMachineFacts> = readMacosMachineFacts,
): () => Promise<NetworkInterface[]> {
  let machine: Promise<MacosMachineFacts> | undefined;
  let ports: { names: string; hardwarePorts: HardwarePort[] } | undefined;
  return async () => {
    machine ??= machineFacts();
    const ifconfig = await run("/sbin/ifconfig", []);
    if (ifconfig === undefined) throw new Error("'ifconfig' did not list the interfaces");
    const interfaces = parseIfconfig(ifconfig);
    const names = interfaces
      .map((entry) => entry.name)
      .sort()
      .join(" ");
    if (ports?.names !== names) {
      const listed = await run("/usr/sbin/networksetup", ["-listallhardwareports"]);
      // Not kept when it failed: the next read asks again.
      ports = { names: listed === undefined ? "" : names, hardwarePorts: parseHardwarePorts(listed ?? "") };
    }
    return describeMacosInterfaces({ hardwarePorts: ports.hardwarePorts, interfaces, ...(await machine) });
  };
}
