import { realpathSync } from "node:fs";
import { homedir } from "node:os";
import { fileURLToPath } from "node:url";
import { type Command, Option } from "commander";
import { z } from "zod";
import { HerdError } from "../../protocol/errors.js";
import { print } from "../print.js";
import { launchAgentPlist } from "../service/launch-agent.js";
import { serviceDefinition } from "../service/service-definition.js";
import {
  installService,
  serviceStatus,
  serviceTarget,
  uninstallService,
} from "../service/service-manager.js";
import { systemdUnit } from "../service/systemd-unit.js";

const platforms = ["linux", "darwin"] as const;
const TargetFlags = z.object({
  platform: z.enum(platforms).optional(),
  scope: z.enum(["system", "user"]).optional(),
});
type TargetFlags = z.infer<typeof TargetFlags>;
const InstallFlags = TargetFlags.extend({ print: z.boolean().optional() });

/** `herd service install|uninstall|status`: a node that starts at boot and comes back after a crash. */
export function addServiceCommands(program: Command): void {
  const service = program
    .command("service")
    .description("run this node at boot: a systemd unit on Linux, a LaunchAgent on macOS");

  withTargetOptions(
    service
      .command("install")
      .argument("[start-flags...]", "'herd start' flags for the node, e.g. --host 0.0.0.0 --name a")
      .description(
        "install (or replace) the service that runs 'herd start' with these flags, and start it; secrets (--join, HF_TOKEN) go to HERD_HOME/service.env",
      )
      .option("--print", "write the service file to stdout instead of installing it")
      .allowUnknownOption(),
  ).action(async (startFlags: string[], raw: unknown) => {
    const options = InstallFlags.parse(raw);
    checkStartFlags(program, startFlags);
    const platform = options.platform ?? currentPlatform();
    const scope = options.scope ?? (process.getuid?.() === 0 ? "system" : "user");
    const definition = serviceDefinition({
      node: process.execPath,
      nodeArgs: process.execArgv,
      entry: realpathSync(process.argv[1]!),
      packageDirectory: fileURLToPath(new URL("../../..", import.meta.url)).replace(/\/$/, ""),
      startFlags,
      env: process.env,
      userHome: homedir(),
      cwd: process.cwd(),
    });
    const text = platform === "darwin" ? launchAgentPlist(definition) : systemdUnit(definition, scope);
    if (options.print) {
      process.stdout.write(text);
      const secrets = Object.keys(definition.secrets);
      if (secrets.length > 0)
        process.stderr.write(`put ${secrets.join(", ")} in ${definition.environmentFile} (mode 0600)\n`);
      return;
    }
    const target = serviceTarget(platform, scope, process.env, homedir());
    for (const note of await installService(target, text, definition)) print(note);
    print(
      platform === "darwin"
        ? `herd runs now, at every login and after a failure; its output is in ${definition.logDirectory}`
        : `herd.service runs now, at every boot and after a failure; its log: herd logs, or journalctl${scope === "user" ? " --user" : ""} -u herd`,
    );
    if (platform === "linux" && scope === "user")
      print(
        `a --user unit starts at boot only with lingering: loginctl enable-linger ${process.env.USER ?? "$USER"}`,
      );
  });

  withTargetOptions(service.command("uninstall").description("stop the service and remove its file")).action(
    async (raw: unknown) => {
      for (const note of await uninstallService(targetOf(TargetFlags.parse(raw)))) print(note);
    },
  );

  withTargetOptions(
    service
      .command("status")
      .description("whether the service is installed and running, its restarts and last exit"),
  ).action(async (raw: unknown) => {
    for (const line of await serviceStatus(targetOf(TargetFlags.parse(raw)))) print(line);
  });
}

function withTargetOptions(command: Command): Command {
  return command
    .addOption(
      new Option("--platform <platform>", "the service manager's platform (default: this machine's)").choices(
        platforms,
      ),
    )
    .addOption(
      new Option("--scope <scope>", "systemd: a system unit (default as root) or a --user unit").choices([
        "system",
        "user",
      ]),
    );
}

function targetOf(options: TargetFlags) {
  const scope = options.scope ?? (process.getuid?.() === 0 ? "system" : "user");
  return serviceTarget(options.platform ?? currentPlatform(), scope, process.env, homedir());
}

function currentPlatform(): "linux" | "darwin" {
  if (process.platform === "linux" || process.platform === "darwin") return process.platform;
  throw new HerdError(
    `herd service knows systemd (Linux) and launchd (macOS), not ${process.platform}; run 'herd start' under your system's service manager`,
  );
}

/** The flags must be ones `herd start` takes: a typo would otherwise surface only at the next boot. */
function checkStartFlags(program: Command, flags: string[]): void {
  const start = program.commands.find((command) => command.name() === "start");
  if (!start) return;
  const { operands, unknown } = start.parseOptions(flags);
  if (unknown.length > 0)
    throw new HerdError(`'herd start' has no option ${unknown[0]} (see herd start --help)`);
  if (operands.length > 0) throw new HerdError(`'herd start' takes no argument '${operands[0]}'`);
}
