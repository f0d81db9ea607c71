import { access, readdir, readFile, readlink, realpath } from "node:fs/promises";
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

/** This Linux machine's interfaces, from `/sys/class/net` and the addresses the OS reports. */
export async function readLinuxInterfaces(options: LinuxReadOptions = {}): Promise<NetworkInterface[]> {
  const root = await realpath(options.root ?? "/");
  const addresses = options.addresses ?? networkInterfaces();
  const classDirectory = join(root, "sys/class/net");
  const names = (await readdir(classDirectory)).sort();
  const rdmaDevices = await readRdmaBindings(root);
  const interfaces: NetworkInterface[] = [];
  for (const name of names) {
    const facts = await readInterfaceFacts(root, join(classDirectory, name), name);
    // Gone between the listing and the read (an interface that went away): nothing to report.
    if (!facts) continue;
    facts.rdmaDevices = rdmaDevices.get(name) ?? [];
    interfaces.push(describeLinuxInterface(facts, toInterfaceAddresses(addresses[name] ?? [])));
  }
  return interfaces;
}

async function readInterfaceFacts(
  root: string,
  directory: string,
  name: string,
): Promise<LinuxInterfaceFacts | undefined> {
  const resolved = await realpath(directory).catch(() => undefined);
  if (!resolved) return undefined;
  const driverLink = await readlink(join(directory, "device/driver")).catch(() => undefined);
  const uevent = (await readText(join(directory, "uevent"))) ?? "";
  return {
    name,
    linkType: await readNumber(join(directory, "type")),
    virtual: relative(root, resolved).startsWith(`sys${sep}devices${sep}virtual${sep}`),
    driver: driverLink ? basename(driverLink) : undefined,
    wireless:
      (await exists(join(directory, "wireless"))) ||
      (await exists(join(directory, "phy80211"))) ||
      /^DEVTYPE=wlan$/m.test(uevent),
    mtu: await readNumber(join(directory, "mtu")),
    speed: await readNumber(join(directory, "speed")),
    operstate: await readText(join(directory, "operstate")),
    flags: await readNumber(join(directory, "flags")),
    rdmaDevices: [],
  };
}

/**
 * Which RDMA devices each netdev carries: every GID of every port of every device under
 * `/sys/class/infiniband` names its netdev in `gid_attrs/ndevs/<index>` (RoCE, iWARP, rxe).
 */
async function readRdmaBindings(root: string): Promise<Map<string, string[]>> {
  const bindings = new Map<string, string[]>();
  const devicesDirectory = join(root, "sys/class/infiniband");
  for (const device of await readdir(devicesDirectory).catch(() => [])) {
    const portsDirectory = join(devicesDirectory, device, "ports");
    for (const port of await readdir(portsDirectory).catch(() => [])) {
      const ndevsDirectory = join(portsDirectory, port, "gid_attrs/ndevs");
      for (const index of await readdir(ndevsDirectory).catch(() => [])) {
        // An unused GID slot cannot be read (EINVAL): it names no netdev.
        const netdev = await readText(join(ndevsDirectory, index));
        if (!netdev) continue;
        const known = bindings.get(netdev) ?? [];
        if (!known.includes(device)) bindings.set(netdev, [...known, device]);
      }
    }
  }
  return bindings;
}

/** A sysfs attribute's value; undefined where the kernel has none to give (EINVAL, ENOENT). */
async function readText(path: string): Promise<string | undefined> {
  const text = await readFile(path, "utf8").catch(() => undefined);
  return text?.trim() || undefined;
}

async function readNumber(path: string): Promise<number | undefined> {
  const text = await readText(path);
  const value = text === undefined ? Number.NaN : Number(text);
  return Number.isFinite(value) ? value : undefined;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
