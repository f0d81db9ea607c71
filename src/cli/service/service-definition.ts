import { isAbsolute, join, resolve } from "node:path";

/** Everything a service manager needs to run `herd start` at boot, whatever its file format. */
export interface ServiceDefinition {
  /** The program and its arguments: node, herd's entry point, `start` and the node's flags. */
  command: string[];
  /** herd's package folder (an entry run through a loader such as `--import tsx` resolves it from here). */
  workingDirectory: string;
  /** Variables the node reads, inlined in the service file: never secrets. */
  environment: Record<string, string>;
  /** Where secrets live (`HF_TOKEN`, the join token), readable by the owner only. */
  environmentFile: string;
  /** Variables written to `environmentFile` when it does not exist yet. */
  secrets: Record<string, string>;
  home: string;
  logDirectory: string;
}

export interface DefinitionInputs {
  /** `process.execPath`. */
  node: string;
  /** `process.execArgv`: a loader for a source checkout, nothing for an installed package. */
  nodeArgs: string[];
  /** herd's entry point, with links resolved. */
  entry: string;
  packageDirectory: string;
  /** `herd start` flags as the user gave them. */
  startFlags: string[];
  env: NodeJS.ProcessEnv;
  /** The user's home folder, for the default HERD_HOME. */
  userHome: string;
  cwd: string;
}

/** Variables that hold secrets: they go to the environment file, never into the service file. */
const secretVariables = ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HERD_JOIN"];
/** Client-side variables with no meaning to a node. */
const clientVariables = new Set(["HERD_URL", "HERD_API_KEY"]);
/** Flags whose value is a path, made absolute since the service starts elsewhere. */
const pathFlags = new Set(["--home", "--engine-dir"]);

/**
 * Describes the service that runs `herd start` with the user's flags and environment: paths made
 * absolute, `HERD_HOME` fixed, the PATH kept (it finds the compilers an engine build needs), and
 * secrets (`--join`'s token, `HF_TOKEN`) moved to an environment file in HERD_HOME.
 */
export function serviceDefinition(inputs: DefinitionInputs): ServiceDefinition {
  const flags = splitEquals(inputs.startFlags);
  const secrets: Record<string, string> = {};
  const kept: string[] = [];
  let home = inputs.env.HERD_HOME
    ? resolve(inputs.cwd, inputs.env.HERD_HOME)
    : join(inputs.userHome, ".herd");
  for (let index = 0; index < flags.length; index++) {
    const flag = flags[index]!;
    const value = flags[index + 1];
    if (flag === "--join" && value !== undefined) {
      secrets.HERD_JOIN = value;
      index++;
    } else if (pathFlags.has(flag) && value !== undefined) {
      const absolute = isAbsolute(value) ? value : resolve(inputs.cwd, value);
      if (flag === "--home") home = absolute;
      kept.push(flag, absolute);
      index++;
    } else kept.push(flag);
  }
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(inputs.env)) {
    if (value === undefined || clientVariables.has(name)) continue;
    if (secretVariables.includes(name)) secrets[name] ??= value;
    else if (name.startsWith("HERD_") || name === "HF_ENDPOINT" || name === "HF_HUB_OFFLINE")
      environment[name] = value;
  }
  environment.HERD_HOME = home;
  if (inputs.env.PATH) environment.PATH = inputs.env.PATH;
  return {
    command: [inputs.node, ...inputs.nodeArgs, inputs.entry, "start", ...kept],
    workingDirectory: inputs.packageDirectory,
    environment: Object.fromEntries(Object.entries(environment).sort(([a], [b]) => a.localeCompare(b))),
    environmentFile: join(home, "service.env"),
    secrets,
    home,
    logDirectory: join(home, "logs"),
  };
}

/** `--flag=value` as two words, so flags with values are handled one way. */
function splitEquals(flags: string[]): string[] {
  return flags.flatMap((flag) => {
    const match = /^(--[^=]+)=(.*)$/s.exec(flag);
    return match ? [match[1]!, match[2]!] : [flag];
  });
}

/** The environment file's text: `NAME=value` lines, as systemd and Node's `loadEnvFile` both read them. */
export function environmentFileText(secrets: Record<string, string>): string {
  const lines = Object.entries(secrets).map(([name, value]) =>
    /^[\w@%+=:,./-]*$/.test(value) ? `${name}=${value}` : `${name}="${value.replace(/[\\"$`]/g, "\\$&")}"`,
  );
  return [
    "# Secrets for the herd service (HF_TOKEN, HERD_JOIN, upstream keys): NAME=value, one a line.",
    ...lines,
    "",
  ].join("\n");
}
