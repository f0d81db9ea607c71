import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { type NetworkInterfaceInfo, networkInterfaces } from "node:os";
import { basename, join, relative, sep } from "node:path";
import type { NetworkInterface } from "../../../protocol/network-interface.js";
import { toInterfaceAddresses } from "../interface-addresses.js";
import { describeLinuxInterface, type LinuxInterfaceFacts } from "./describe-linux-interface.js";

export interface LinuxReadOptions {
  /** The root `sys/` is under; a test points it at a tree of its own. Default `/`. */
  root?: string;
  /** Addresses per interface name. Default: `os.networkInterfaces()`. */
  addresses?: NodeJS.Dict<NetworkInterfaceInfo[]>;
}

/**
 * This Linux machine's interfaces, from `/sys/class/net` and the addresses the OS reports.
 *
 * Read synchronously: sysfs attributes are the kernel's own state, answered from memory, so no
 * read can block the event loop on a disk, and a node reads some 30 of them every 2 s for as long
 * as it runs. Through `fs/promises` each open, stat, read and close was a round trip to libuv's
 * thread pool: about 5.5 ms of CPU per reading of this VM's four interfaces, a third of an idle
 * node's CPU time, against about 0.3 ms read in place.
 */
export async function readLinuxInterfaces(options: LinuxReadOptions = {}): Promise<NetworkInterface[]> {
  const root = realpathSync.native(options.root ?? "/");
  const addresses = options.addresses ?? networkInterfaces();
  const classDirectory = join(root, "sys/class/net");
  const names = readdirSync(classDirectory).sort();
  const rdmaDevices = readRdmaBindings(root);
  const interfaces: NetworkInterface[] = [];
  for (const name of names) {
    const facts = readInterfaceFacts(root, join(classDirectory, name), name);
    // Gone between the listing and the read (an interface that went away): nothing to report.
    if (!facts) continue;
    facts.rdmaDevices = rdmaDevices.get(name) ?? [];
    interfaces.push(describeLinuxInterface(facts, toInterfaceAddresses(addresses[name] ?? [])));
  }
  return interfaces;
}

function readInterfaceFacts(root: string, directory: string, name: string): LinuxInterfaceFacts | undefined {
  const resolved = attempt(() => realpathSync.native(directory));
  if (!resolved) return undefined;
  const driverLink = attempt(() => readlinkSync(join(directory, "device/driver")));
  const uevent = readText(join(directory, "uevent")) ?? "";
  return {
    name,
    linkType: readNumber(join(directory, "type")),
    virtual: relative(root, resolved).startsWith(`sys${sep}devices${sep}virtual${sep}`),
    driver: driverLink ? basename(driverLink) : undefined,
    wireless:
      existsSync(join(directory, "wireless")) ||
      existsSync(join(directory, "phy80211")) ||
      /^DEVTYPE=wlan$/m.test(uevent),
    mtu: readNumber(join(directory, "mtu")),
    speed: readNumber(join(directory, "speed")),
    operstate: readText(join(directory, "operstate")),
    flags: readNumber(join(directory, "flags")),
    rdmaDevices: [],
  };
}

/**
 * Which RDMA devices each netdev carries: every GID of every port of every device under
 * `/sys/class/infiniband` names its netdev in `gid_attrs/ndevs/<index>` (RoCE, iWARP, rxe).
 */
function readRdmaBindings(root: string): Map<string, string[]> {
  const bindings = new Map<string, string[]>();
  const devicesDirectory = join(root, "sys/class/infiniband");
  for (const device of listNames(devicesDirectory)) {
    const portsDirectory = join(devicesDirectory, device, "ports");
    for (const port of listNames(portsDirectory)) {
      const ndevsDirectory = join(portsDirectory, port, "gid_attrs/ndevs");
      for (const index of listNames(ndevsDirectory)) {
        // An unused GID slot cannot be read (EINVAL): it names no netdev.
        const netdev = readText(join(ndevsDirectory, index));
        if (!netdev) continue;
        const known = bindings.get(netdev) ?? [];
        if (!known.includes(device)) bindings.set(netdev, [...known, device]);
      }
    }
  }
  return bindings;
}

/** A sysfs attribute's value; undefined where the kernel has none to give (EINVAL, ENOENT). */
function readText(path: string): string | undefined {
  return attempt(() => readFileSync(path, "utf8"))?.trim() || undefined;
}

function readNumber(path: string): number | undefined {
  const text = readText(path);
  const value = text === undefined ? Number.NaN : Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/** A folder's entries; none where it is not there (no RDMA device, a port without GIDs). */
function listNames(directory: string): string[] {
  return attempt(() => readdirSync(directory)) ?? [];
}

/** What `read` returns, or undefined where it throws (a file the kernel will not give, or gone). */
function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
