/** One `Hardware Port` block of `networksetup -listallhardwareports`. */
export interface HardwarePort {
  /** `Wi-Fi`, `Ethernet`, `Thunderbolt 1`, `Thunderbolt Bridge`, `USB 10/100/1000 LAN` */
  port: string;
  /** The BSD interface name: `en0`, `bridge0`. */
  device: string;
}

/** Parses `networksetup -listallhardwareports`; the `VLAN Configurations` trailer is not a port. */
export function parseHardwarePorts(output: string): HardwarePort[] {
  const ports: HardwarePort[] = [];
  for (const block of output.split(/\n\s*\n/)) {
    const port = /^Hardware Port: (.+)$/m.exec(block)?.[1]?.trim();
    const device = /^Device: (.+)$/m.exec(block)?.[1]?.trim();
    if (port && device) ports.push({ port, device });
  }
  return ports;
}
