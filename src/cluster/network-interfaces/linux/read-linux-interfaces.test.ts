import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import type { NetworkInterfaceInfo } from "node:os";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLinuxInterfaces } from "./read-linux-interfaces.js";

/**
 * A sysfs tree laid out as the kernel's (Documentation/ABI/testing/sysfs-class-net and
 * sysfs-class-infiniband): `/sys/class/net/<name>` links into `/sys/devices/...`, virtual devices
 * under `/sys/devices/virtual/net`, a physical one's `device/driver` linking to its driver.
 */
async function buildSysfs(root: string): Promise<void> {
  const attributes = async (directory: string, values: Record<string, string>) => {
    await mkdir(join(root, directory), { recursive: true });
    for (const [name, value] of Object.entries(values))
      await writeFile(join(root, directory, name), `${value}\n`);
  };
  const link = async (path: string, target: string) => {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await symlink(target, join(root, path));
  };
  const netdev = async (devicePath: string, name: string, values: Record<string, string>) => {
    await attributes(`${devicePath}/net/${name}`, values);
    await link(`sys/class/net/${name}`, `../../${devicePath.replace(/^sys\//, "")}/net/${name}`);
  };
  const driver = async (devicePath: string, bus: string, name: string) => {
    await mkdir(join(root, `sys/bus/${bus}/drivers/${name}`), { recursive: true });
    const depth = devicePath.split("/").length;
    await link(`${devicePath}/driver`, `${"../".repeat(depth - 1)}bus/${bus}/drivers/${name}`);
    for (const netdevDirectory of ["eno1", "wlp2s0", "thunderbolt0", "enp65s0f0np0"]) {
      await mkdir(join(root, devicePath, "net", netdevDirectory), { recursive: true });
    }
  };
  const common = { type: "1", operstate: "up", flags: "0x1003", mtu: "1500" };

  await netdev("sys/devices/virtual", "lo", {
    type: "772",
    operstate: "unknown",
    flags: "0x9",
    mtu: "65536",
  });
  await netdev("sys/devices/pci0000:00/0000:00:1f.6", "eno1", { ...common, speed: "1000" });
  await driver("sys/devices/pci0000:00/0000:00:1f.6", "pci", "e1000e");
  await link("sys/devices/pci0000:00/0000:00:1f.6/net/eno1/device", "../../../0000:00:1f.6");
  await netdev("sys/devices/pci0000:00/0000:00:14.3", "wlp2s0", { ...common, operstate: "dormant" });
  await driver("sys/devices/pci0000:00/0000:00:14.3", "pci", "iwlwifi");
  await link("sys/devices/pci0000:00/0000:00:14.3/net/wlp2s0/device", "../../../0000:00:14.3");
  await mkdir(join(root, "sys/devices/pci0000:00/0000:00:14.3/net/wlp2s0/wireless"));
  await netdev("sys/devices/pci0000:00/0000:00:0d.2/domain0/0-0/0-1/0-1.0", "thunderbolt0", {
    ...common,
    mtu: "65520",
  });
  await driver("sys/devices/pci0000:00/0000:00:0d.2/domain0/0-0/0-1/0-1.0", "thunderbolt", "thunderbolt-net");
  await link(
    "sys/devices/pci0000:00/0000:00:0d.2/domain0/0-0/0-1/0-1.0/net/thunderbolt0/device",
    "../../../0-1.0",
  );
  // An unplugged port: the kernel refuses to read `speed` (EINVAL); no file stands in for that here.
  await netdev("sys/devices/pci0000:40/0000:41:00.0", "enp65s0f0np0", { ...common, operstate: "down" });
  await driver("sys/devices/pci0000:40/0000:41:00.0", "pci", "mlx5_core");
  await link("sys/devices/pci0000:40/0000:41:00.0/net/enp65s0f0np0/device", "../../../0000:41:00.0");
  await netdev("sys/devices/virtual", "veth0", { ...common, speed: "10000", mtu: "9000" });
  await netdev("sys/devices/virtual", "docker0", { ...common, operstate: "down", flags: "0x1003" });
  // GID 0 and 1 of mlx5_0's port 1 belong to enp65s0f0np0; an empty slot names nothing.
  await attributes("sys/class/infiniband/mlx5_0/ports/1/gid_attrs/ndevs", {
    "0": "enp65s0f0np0",
    "1": "enp65s0f0np0",
    "2": "",
  });
}

const addressesOf = (address: string, netmask: string, cidr: string): NetworkInterfaceInfo => {
  const common = { address, netmask, mac: "00:00:00:00:00:00", internal: false, cidr };
  return address.includes(":") ? { ...common, family: "IPv6", scopeid: 0 } : { ...common, family: "IPv4" };
};

describe("readLinuxInterfaces on a made-up sysfs tree", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "herd-sysfs-"));
    await buildSysfs(root);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("reports each interface's kind, state, MTU, speed, addresses and RDMA device", async () => {
    const interfaces = await readLinuxInterfaces({
      root,
      addresses: {
        lo: [addressesOf("127.0.0.1", "255.0.0.0", "127.0.0.1/8")],
        eno1: [
          addressesOf("192.168.1.20", "255.255.255.0", "192.168.1.20/24"),
          addressesOf("fe80::1", "ffff:ffff:ffff:ffff::", "fe80::1/64"),
        ],
        thunderbolt0: [addressesOf("169.254.10.1", "255.255.0.0", "169.254.10.1/16")],
      },
    });
    expect(interfaces).toEqual([
      { name: "docker0", kind: "virtual", addresses: [], mtu: 1500, up: false, rdma: false },
      {
        name: "eno1",
        kind: "ethernet",
        addresses: [
          { address: "192.168.1.20", prefixLength: 24, family: "ipv4" },
          { address: "fe80::1", prefixLength: 64, family: "ipv6" },
        ],
        mtu: 1500,
        speedMbps: 1000,
        up: true,
        rdma: false,
      },
      {
        name: "enp65s0f0np0",
        kind: "ethernet",
        addresses: [],
        mtu: 1500,
        up: false,
        rdma: true,
        rdmaDevice: "mlx5_0",
      },
      {
        name: "lo",
        kind: "loopback",
        addresses: [{ address: "127.0.0.1", prefixLength: 8, family: "ipv4" }],
        mtu: 65536,
        up: true,
        rdma: false,
      },
      {
        name: "thunderbolt0",
        kind: "thunderbolt",
        addresses: [{ address: "169.254.10.1", prefixLength: 16, family: "ipv4" }],
        mtu: 65520,
        up: true,
        rdma: false,
        rdmaUnavailable: "no RDMA device is bound to it (Linux's thunderbolt-net carries TCP/IP only)",
      },
      { name: "veth0", kind: "virtual", addresses: [], mtu: 9000, speedMbps: 10000, up: true, rdma: false },
      { name: "wlp2s0", kind: "wifi", addresses: [], mtu: 1500, up: false, rdma: false },
    ]);
  });

  it("fails clearly where there is no sysfs", async () => {
    await expect(readLinuxInterfaces({ root: join(root, "missing") })).rejects.toThrow(/ENOENT/);
  });
});
