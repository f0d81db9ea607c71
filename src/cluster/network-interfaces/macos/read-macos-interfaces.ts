import { runCommand } from "../../../engine/run-command.js";
import type { NetworkInterface } from "../../../protocol/network-interface.js";
import { describeMacosInterfaces } from "./describe-macos-interfaces.js";
import { parseHardwarePorts } from "./parse-hardware-ports.js";
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

/** This Mac's interfaces, from `networksetup -listallhardwareports` and `ifconfig`. */
export async function readMacosInterfaces(machine: MacosMachineFacts): Promise<NetworkInterface[]> {
  const [ports, ifconfig] = await Promise.all([
    outputOf("/usr/sbin/networksetup", ["-listallhardwareports"]),
    outputOf("/sbin/ifconfig", []),
  ]);
  if (ifconfig === undefined) throw new Error("'ifconfig' did not list the interfaces");
  return describeMacosInterfaces({
    hardwarePorts: parseHardwarePorts(ports ?? ""),
    interfaces: parseIfconfig(ifconfig),
    ...machine,
  });
}
