import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { openSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import { HerdApiError, HerdClient } from "../../src/client/herd-client.js";
import { formatJoinToken } from "../../src/cluster/join-token.js";
import { runCommand } from "../../src/engine/run-command.js";
import { findFreePort } from "../../src/util/free-port.js";
import { commandLine } from "./command-line.js";
import type { TestNetwork } from "./netns.js";

const repositoryRoot = new URL("../..", import.meta.url).pathname;
export const sharedModelPath = join(repositoryRoot, "../shared/models/stories260K-f32.gguf");

/**
 * `herd load` flags for a split whose nodes stand for machines of their own. Nodes under test share
 * this machine's cores, and each engine takes one thread per core by default: a head and two shards
 * decoding at once spin three engines' threads on the same cores. Splits that decode for long pass
 * these (`stream-failover.test.ts` took 311 s with the engines at their default and 220 s with
 * these, on a 2-core machine).
 */
export const separateMachines = ["--threads", "1"];

interface StartOptions {
  home?: string;
  env?: NodeJS.ProcessEnv;
  args?: string[];
  port?: number;
  clusterPort?: number;
  /** Run inside this network namespace (`ip netns exec`), reached at `address`. */
  netns?: { name: string; address: string };
  /** The API key its client and `cli()` send. */
  apiKey?: string;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const running = new Set<HerdProcess>();
/** Homes this harness made; removed by `stopAllHerdProcesses` once no node uses them. */
const homes = new Set<string>();

/**
 * A real `herd start` process with its own HERD_HOME and port, as a user would run it (from the
 * TypeScript source, so tests see the current code). Its log is `<home>/node.log`.
 */
export class HerdProcess {
  client: HerdClient;
  private exitPromise: Promise<number | null>;

  private constructor(
    readonly home: string,
    readonly port: number,
    readonly clusterPort: number,
    private readonly child: ChildProcess,
    private readonly env: NodeJS.ProcessEnv,
    readonly address: string,
    apiKey: string | undefined,
  ) {
    this.client = new HerdClient({ baseUrl: this.url, apiKey });
    this.exitPromise = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    running.add(this);
  }

  /**
   * Starts a node; `args` are extra `herd start` flags (`--peers`, `--join`, ...). Ports it chose
   * itself that another process took between being found free and being bound (an outgoing
   * connection may take any port of the ephemeral range) are chosen again, twice at most.
   */
  static async start(options: StartOptions = {}): Promise<HerdProcess> {
    const portsChosenHere = options.port === undefined && options.clusterPort === undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        return await HerdProcess.startOnce(options);
      } catch (error) {
        const taken = error instanceof Error && /port \d+ on \S+ is in use/.test(error.message);
        if (!portsChosenHere || !taken || attempt === 3) throw error;
      }
    }
  }

  private static async startOnce(options: StartOptions): Promise<HerdProcess> {
    const home = options.home ?? (await mkdtemp(join(tmpdir(), "herd-test-")));
    homes.add(home);
    const port = options.port ?? (await findFreePort());
    const clusterPort = options.clusterPort ?? (await findFreePort());
    const env = {
      ...process.env,
      HERD_ENGINE_DIR: inject("engineDirectory"),
      HERD_ENGINE_CACHE: inject("engineCache"),
      HERD_LOG_LEVEL: "debug",
      // A test node measures its engine only when its test asks: it costs seconds of both cores.
      HERD_CALIBRATE: "off",
      ...options.env,
    };
    const log = openSync(join(home, "node.log"), "a");
    // Multicast discovery would send beacons onto the machine's real network: test nodes on loopback
    // find each other with --peers instead (the network-namespace tests turn discovery back on).
    const discovery = options.args?.includes("--discovery") ? [] : ["--no-discovery"];
    const extra = (options.args ?? []).filter((arg) => arg !== "--discovery");
    const args = [
      "--port",
      String(port),
      "--cluster-port",
      String(clusterPort),
      "--home",
      home,
      ...discovery,
      ...extra,
    ];
    const command = [process.execPath, inject("herdEntry"), "start", ...args];
    const [program, ...programArgs] = options.netns
      ? ["ip", "netns", "exec", options.netns.name, ...command]
      : command;
    const child = spawn(program!, programArgs, {
      cwd: repositoryRoot,
      env,
      stdio: ["ignore", log, log],
    });
    const node = new HerdProcess(
      home,
      port,
      clusterPort,
      child,
      env,
      options.netns?.address ?? "127.0.0.1",
      options.apiKey,
    );
    await node.waitUntilServing();
    return node;
  }

  get url(): string {
    return `http://${this.address}:${this.port}`;
  }

  /** `127.0.0.1:<cluster port>`, for other nodes' `--peers`. */
  get clusterEndpoint(): string {
    return `${this.address}:${this.clusterPort}`;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Runs a `herd` CLI command against this node (with the API key its client uses, if any). */
  cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    const key = this.client.apiKey ? { HERD_API_KEY: this.client.apiKey } : {};
    return runCli(args, { ...this.env, HERD_URL: this.url, HERD_HOME: this.home, ...key, ...env });
  }

  /** Runs each command in turn, and throws with its stderr at the first that fails (test setup). */
  async cliEach(commands: string[][]): Promise<void> {
    for (const command of commands) {
      const result = await this.cli(command);
      if (result.code !== 0) throw new Error(`herd ${command.join(" ")} failed: ${result.stderr}`);
    }
  }

  /** Makes the client and `cli()` send `apiKey` from now on. */
  useApiKey(apiKey: string | undefined): void {
    this.client = new HerdClient({ baseUrl: this.url, apiKey });
  }

  async log(): Promise<string> {
    return readFile(join(this.home, "node.log"), "utf8");
  }

  /** Stops the node the way Ctrl-C does and waits for it to exit. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGINT");
    const code = await this.exitPromise;
    running.delete(this);
    return code;
  }

  /** Kills the node without letting it clean up. */
  async kill(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.exitPromise;
    running.delete(this);
  }

  /** Stops the node and deletes its home. */
  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.home, { recursive: true, force: true });
  }

  private async waitUntilServing(): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) {
        throw new Error(`herd exited with ${this.child.exitCode} before serving:\n${await this.log()}`);
      }
      try {
        await this.client.node();
        return;
      } catch (error) {
        // A node that asks for a key is serving.
        if (error instanceof HerdApiError && error.status === 401) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error(`herd did not serve within 60 s:\n${await this.log()}`);
  }
}

/** Stops every node a test left running and removes the homes of all; for `afterAll`. */
export async function stopAllHerdProcesses(): Promise<void> {
  await Promise.all([...running].map((node) => node.dispose()));
  for (const home of homes) await rm(home, { recursive: true, force: true });
  homes.clear();
}

/** Runs the `herd` CLI with the given environment. */
export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return runCommand(process.execPath, [inject("herdEntry"), ...args], {
    cwd: repositoryRoot,
    env,
    timeoutMs: 600_000,
  });
}

/** Live (not zombie) llama-server processes whose command line mentions `needle`. */
export async function liveEngineProcesses(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = await commandLine(entry);
      if (!args[0]?.endsWith("llama-server") || !args.some((arg) => arg.includes(needle))) continue;
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state !== "Z") pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/**
 * A herd node in each host's namespace, named host1, host2, ... in order, on herd's own ports and
 * every address, without keys (a lab), joined under a fresh cluster key through `joinAddress`.
 */
export function startInNamespaces(hosts: TestNetwork["hosts"], joinAddress: string): Promise<HerdProcess[]> {
  const token = formatJoinToken({ key: randomBytes(32), addresses: [`${joinAddress}:52416`] });
  return Promise.all(
    hosts.map((host, index) =>
      HerdProcess.start({
        netns: host,
        port: 52415,
        clusterPort: 52416,
        args: ["--host", "0.0.0.0", "--insecure-no-auth", "--join", token, "--name", `host${index + 1}`],
      }),
    ),
  );
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ""}`);
}

/**
 * Starts a cluster on loopback: the first node, then the others with its join token, and waits
 * until the first sees them all alive with every link measured. `args` adds flags to every node.
 */
export async function startCluster(
  names: string[],
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<HerdProcess[]> {
  const first = await HerdProcess.start({ args: ["--name", names[0]!, ...args], env });
  const token = await first.client.joinToken();
  // The others start together: each takes about a second to serve, and their joins then come in one
  // burst, which the first node measures in one round of its links.
  const others = await Promise.all(
    names
      .slice(1)
      .map((name) => HerdProcess.start({ args: ["--name", name, "--join", token, ...args], env })),
  );
  const nodes = [first, ...others];
  try {
    await waitFor(`${names.length} live nodes with measured links`, async () => {
      const view = await first.client.cluster();
      const alive = view.nodes.filter((node) => node.state === "alive").length;
      return alive === names.length && view.links.length === names.length * (names.length - 1)
        ? true
        : undefined;
    });
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${await clusterReport(nodes)}`);
  }
  return nodes;
}

/**
 * What each node sees of a cluster that did not form (the nodes and their states, the links
 * measured) and the end of its log: the nodes' homes are gone by the time a CI log is read.
 */
async function clusterReport(nodes: HerdProcess[]): Promise<string> {
  const reports: string[] = [];
  for (const node of nodes) {
    const seen = await node.client.cluster().then(
      (view) => {
        const nameOf = (id: string) => view.nodes.find((other) => other.id === id)?.name ?? id;
        const members = view.nodes.map((member) => `${member.name} ${member.state}`).join(", ");
        const links = view.links.map((link) => `${nameOf(link.from)}->${nameOf(link.to)}`).join(" ");
        return `sees ${members}; links ${links || "none"}`;
      },
      (error: unknown) => `does not answer: ${(error as Error).message}`,
    );
    // The requests this harness polled with are most of a node's log: they say nothing here.
    const log = await node.log().catch(() => "");
    const lines = log.trimEnd().split("\n");
    const tail = lines.filter((line) => !line.includes('"msg":"request served"')).slice(-15);
    reports.push(`node on port ${node.port} ${seen}\n${tail.join("\n")}`);
  }
  return reports.join("\n\n");
}
