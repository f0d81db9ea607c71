import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { HerdClient } from "../src/client/herd-client.js";
import { DesiredState } from "../src/protocol/cluster.js";
import { ModelProfile } from "../src/protocol/model-profile.js";
import { findFreePort } from "../src/util/free-port.js";
import { until } from "./streaming-sample.js";

const cli = new URL("../src/cli/main.ts", import.meta.url).pathname;

/** One `herd start` process of the load test, with its own HERD_HOME and ports on loopback. */
export class LoadNode {
  child: ChildProcess | undefined;
  readonly client: HerdClient;

  constructor(
    readonly name: string,
    readonly home: string,
    readonly port: number,
    readonly clusterPort: number,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.client = new HerdClient({ baseUrl: this.url });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child!.pid!;
  }

  /** Starts (or starts again) the node and waits until its API answers. */
  async start(extraArgs: string[]): Promise<void> {
    const output = openSync(join(this.home, "stdio.log"), "a");
    this.child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        cli,
        "start",
        "--home",
        this.home,
        "--port",
        String(this.port),
        "--cluster-port",
        String(this.clusterPort),
        "--name",
        this.name,
        "--no-discovery",
        ...extraArgs,
      ],
      { env: this.env, stdio: ["ignore", output, output] },
    );
    const child = this.child;
    await until(async () => {
      if (child.exitCode !== null) {
        const log = await readFile(join(this.home, "stdio.log"), "utf8");
        throw new Error(
          `${this.name} exited with ${child.exitCode}:\n${log.split("\n").slice(-15).join("\n")}`,
        );
      }
      await this.client.node();
    }, 120_000);
  }

  /** kill -9: no chance to clean up (its engines die with it: they are started with a parent-death signal). */
  kill(): void {
    this.child?.kill("SIGKILL");
  }

  stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGINT");
    });
  }

  /** Resident memory of the herd process (not its engines), in bytes. */
  async residentBytes(): Promise<number> {
    const status = await readFile(`/proc/${this.pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  }

  /** Parses every state file in HERD_HOME with its schema; returns what does not parse. */
  async corruptStateFiles(): Promise<string[]> {
    const problems: string[] = [];
    const check = async (path: string, parse: (value: unknown) => unknown) => {
      try {
        parse(JSON.parse(await readFile(path, "utf8")));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT")
          problems.push(`${path}: ${(error as Error).message}`);
      }
    };
    await check(join(this.home, "node.json"), (value) => value);
    await check(join(this.home, "state", "desired.json"), (value) => DesiredState.parse(value));
    for (const entry of await readdir(join(this.home, "models")).catch(() => [])) {
      await check(join(this.home, "models", entry, "profile.json"), (value) => ModelProfile.parse(value));
    }
    return problems;
  }
}

/** Starts `names.length` nodes under `base`, the first making the cluster and the others joining it. */
export async function startLoadCluster(
  base: string,
  names: string[],
  env: NodeJS.ProcessEnv,
): Promise<LoadNode[]> {
  const nodes: LoadNode[] = [];
  let token: string | undefined;
  for (const name of names) {
    const node = new LoadNode(name, join(base, name), await findFreePort(), await findFreePort(), env);
    await mkdir(node.home, { recursive: true });
    await node.start(token ? ["--join", token] : []);
    token ??= await node.client.joinToken();
    nodes.push(node);
  }
  await until(async () => {
    const view = await nodes[0]!.client.cluster();
    const alive = view.nodes.filter((node) => node.state === "alive").length;
    if (alive < names.length || view.links.length < names.length * (names.length - 1))
      throw new Error("the cluster is still forming");
  }, 120_000);
  return nodes;
}
