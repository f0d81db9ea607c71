import { describe, expect, it } from "vitest";
import { readFixture } from "./fixture.js";
import { macosInterfaceReader } from "./read-macos-interfaces.js";

const facts = async () => ({
  thunderboltPorts: undefined,
  version: [26, 2],
  rdmaControl: "enabled" as const,
});

/** A Mac mini whose `ifconfig` answers `listing()` each time; every command run is recorded. */
function macMini(listing: () => string) {
  const ran: string[] = [];
  const read = macosInterfaceReader(async (command) => {
    ran.push(command.split("/").pop()!);
    return command.endsWith("ifconfig") ? listing() : readFixture("mac-mini-networksetup.txt");
  }, facts);
  return { read, ran };
}

describe("macosInterfaceReader", () => {
  it("runs networksetup on the first read and when ifconfig lists another set of interfaces, ifconfig alone otherwise", async () => {
    const ifconfig = readFixture("mac-mini-ifconfig.txt");
    // A USB Ethernet adapter plugged in between the second and third reads.
    const adapter =
      "en9: flags=8863<UP,BROADCAST,SMART,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n\tstatus: active\n";
    let plugged = false;
    const { read, ran } = macMini(() => (plugged ? `${ifconfig}${adapter}` : ifconfig));
    const first = await read();
    await read();
    plugged = true;
    const third = await read();
    await read();
    expect(ran).toEqual(["ifconfig", "networksetup", "ifconfig", "ifconfig", "networksetup", "ifconfig"]);
    expect(third.map((entry) => entry.name)).toEqual([...first.map((entry) => entry.name), "en9"]);
    // What each port is still comes from networksetup on the reads that did not run it.
    expect(first.find((entry) => entry.name === "bridge0")?.kind).toBe("thunderbolt");
  });

  it("asks networksetup again after it failed", async () => {
    const ran: string[] = [];
    const read = macosInterfaceReader(async (command) => {
      ran.push(command.split("/").pop()!);
      return command.endsWith("ifconfig") ? readFixture("mac-mini-ifconfig.txt") : undefined;
    }, facts);
    await read();
    await read();
    expect(ran).toEqual(["ifconfig", "networksetup", "ifconfig", "networksetup"]);
  });

  it("fails when ifconfig lists nothing", async () => {
    const read = macosInterfaceReader(async () => undefined, facts);
    await expect(read()).rejects.toThrow("'ifconfig' did not list the interfaces");
  });
});
