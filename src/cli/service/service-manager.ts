import { execFile } from "node:child_process";
import { access, mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { HerdError } from "../../protocol/errors.js";
import { launchAgentLabel } from "./launch-agent.js";
import { environmentFileText, type ServiceDefinition } from "./service-definition.js";

/** Where the service file goes and which manager runs it. */
export interface ServiceTarget {
  platform: "linux" | "darwin";
  /** systemd: a system unit (root) or a `--user` unit; launchd: always the user's agent. */
  scope: "system" | "user";
  path: string;
}

/** The service file's place: `/etc/systemd/system`, `~/.config/systemd/user` or `~/Library/LaunchAgents`. */
export function serviceTarget(
  platform: "linux" | "darwin",
  scope: "system" | "user",
  env: NodeJS.ProcessEnv,
  userHome: string,
): ServiceTarget {
  if (platform === "darwin")
    return {
      platform,
      scope: "user",
      path: join(userHome, "Library/LaunchAgents", `${launchAgentLabel}.plist`),
    };
  if (scope === "system") return { platform, scope, path: "/etc/systemd/system/herd.service" };
  const config = env.XDG_CONFIG_HOME || join(userHome, ".config");
  return { platform, scope, path: join(config, "systemd/user/herd.service") };
}

interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[]): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 127) : 0;
      resolve({ code, stdout, stderr: stderr || (error && code === 127 ? error.message : "") });
    });
  });
}

const systemctl = (target: ServiceTarget, ...args: string[]) =>
  run("systemctl", target.scope === "user" ? ["--user", ...args] : args);
const launchDomain = () => `gui/${process.getuid?.() ?? 0}`;

/**
 * Writes the service file (replacing one already there), the secrets file when there is none, and
 * has the service manager start it now and at every boot. A manager that refuses (no systemd
 * running, as in a container) is an error that says the file was written.
 */
export async function installService(
  target: ServiceTarget,
  text: string,
  definition: ServiceDefinition,
): Promise<string[]> {
  await mkdir(dirname(target.path), { recursive: true });
  await writeFile(target.path, text, { mode: 0o644 });
  await mkdir(definition.logDirectory, { recursive: true, mode: 0o700 });
  const notes = [`wrote ${target.path}`];
  if (Object.keys(definition.secrets).length > 0 && !(await exists(definition.environmentFile))) {
    await writeFile(definition.environmentFile, environmentFileText(definition.secrets), { mode: 0o600 });
    notes.push(
      `wrote ${Object.keys(definition.secrets).join(", ")} to ${definition.environmentFile} (mode 0600)`,
    );
  } else if (Object.keys(definition.secrets).length > 0) {
    notes.push(
      `kept ${definition.environmentFile} as it is: put ${Object.keys(definition.secrets).join(", ")} there`,
    );
  }
  const steps: Array<() => Promise<CommandResult>> =
    target.platform === "linux"
      ? [
          () => systemctl(target, "daemon-reload"),
          () => systemctl(target, "enable", "herd.service"),
          // A restart, not a start: installing again must apply the new flags.
          () => systemctl(target, "restart", "herd.service"),
        ]
      : [
          // Unloading an agent that is not loaded fails; that is the expected first-install case.
          () => run("launchctl", ["bootout", `${launchDomain()}/${launchAgentLabel}`]).then(() => ok),
          () => run("launchctl", ["bootstrap", launchDomain(), target.path]),
        ];
  for (const step of steps) {
    const result = await step();
    if (result.code !== 0)
      throw new HerdError(
        `${notes.join("; ")}; but the service manager did not start it: ${result.stderr.trim() || `exit ${result.code}`}`,
      );
  }
  return notes;
}

const ok: CommandResult = { code: 0, stdout: "", stderr: "" };

/** Stops the service, removes its file; the secrets file and HERD_HOME stay. */
export async function uninstallService(target: ServiceTarget): Promise<string[]> {
  if (!(await exists(target.path))) return [`no service is installed at ${target.path}`];
  const stopped =
    target.platform === "linux"
      ? await systemctl(target, "disable", "--now", "herd.service")
      : await run("launchctl", ["bootout", `${launchDomain()}/${launchAgentLabel}`]);
  await rm(target.path, { force: true });
  if (target.platform === "linux") await systemctl(target, "daemon-reload");
  return [
    `removed ${target.path}`,
    ...(stopped.code === 0 ? [] : [`the service manager could not stop it: ${stopped.stderr.trim()}`]),
  ];
}

/** Installed or not, running or not, restarts and the last exit, as the service manager reports them. */
export async function serviceStatus(target: ServiceTarget): Promise<string[]> {
  if (!(await exists(target.path))) return ["not installed"];
  const installed = `installed  ${target.path}`;
  if (target.platform === "darwin") {
    const printed = await run("launchctl", ["print", `${launchDomain()}/${launchAgentLabel}`]);
    if (printed.code !== 0) return [installed, `launchd: not loaded (${printed.stderr.trim()})`];
    const field = (name: string) => new RegExp(`^\\s*${name} = (.+)$`, "m").exec(printed.stdout)?.[1] ?? "?";
    return [
      installed,
      `state      ${field("state")}${field("pid") === "?" ? "" : `, pid ${field("pid")}`}, ${field("runs")} runs`,
      `last exit  ${field("last exit code")}`,
    ];
  }
  const shown = await systemctl(
    target,
    "show",
    "herd.service",
    "--property=ActiveState,SubState,MainPID,NRestarts,ExecMainStatus,ExecMainExitTimestamp,ActiveEnterTimestamp",
  );
  if (shown.code !== 0) return [installed, `systemd: ${shown.stderr.trim() || `exit ${shown.code}`}`];
  const properties = Object.fromEntries(
    shown.stdout
      .trim()
      .split("\n")
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
  const running = properties.ActiveState === "active";
  return [
    installed,
    `state      ${properties.ActiveState} (${properties.SubState})${running ? `, pid ${properties.MainPID} since ${properties.ActiveEnterTimestamp}` : ""}, ${properties.NRestarts ?? 0} restarts`,
    `last exit  ${properties.ExecMainExitTimestamp ? `status ${properties.ExecMainStatus} at ${properties.ExecMainExitTimestamp}` : "none"}`,
  ];
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
