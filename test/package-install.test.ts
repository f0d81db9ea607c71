import { spawn } from "node:child_process";
import { openSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { HerdClient } from "../src/client/herd-client.js";
import { runCommand } from "../src/engine/run-command.js";
import { findFreePort } from "../src/util/free-port.js";
import { sharedModelPath, waitFor } from "./support/herd-process.js";

const repositoryRoot = new URL("..", import.meta.url).pathname;
const folders: string[] = [];
const stops: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const stop of stops) await stop();
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

describe("the npm package", () => {
  it("packs small, installs with npm install -g on a machine with no checkout, starts and answers", async () => {
    const folder = await mkdtemp(join(tmpdir(), "herd-package-"));
    folders.push(folder);
    const packed = await runCommand("npm", ["pack", "--pack-destination", folder], {
      cwd: repositoryRoot,
      timeoutMs: 300_000,
    });
    expect(packed.code, packed.stderr).toBe(0);
    const [tarball] = (await readdir(folder)).filter((name) => name.endsWith(".tgz"));
    expect(tarball).toMatch(/^herd-llm-\d+\.\d+\.\d+\.tgz$/);
    const tarballPath = join(folder, tarball!);
    expect((await stat(tarballPath)).size).toBeLessThan(1024 * 1024);
    const listing = (await runCommand("tar", ["-tzf", tarballPath])).stdout.trim().split("\n");
    expect(listing).toEqual(
      expect.arrayContaining([
        "package/bin/herd.js",
        "package/dist/cli/main.js",
        "package/dashboard/dist/index.html",
      ]),
    );
    expect(listing.filter((path) => /\.test\.|\.map$|^package\/(src|test|bench)\//.test(path))).toEqual([]);

    // Into a prefix of its own, from the package alone, run from a folder that is no checkout.
    const prefix = join(folder, "prefix");
    const installed = await runCommand(
      "npm",
      ["install", "--global", "--prefix", prefix, tarballPath, "--prefer-offline", "--no-audit", "--no-fund"],
      { cwd: folder, timeoutMs: 300_000 },
    );
    expect(installed.code, installed.stderr).toBe(0);
    const herd = join(prefix, "bin/herd");
    const env = {
      PATH: process.env.PATH ?? "",
      HOME: folder,
      // The engine this machine already built: the installed herd finds it by its llama.cpp version,
      // which comes from the node-llama-cpp the package installed.
      HERD_ENGINE_CACHE: inject("engineCache"),
    };
    const port = await findFreePort();
    const home = join(folder, "home");
    const node = spawn(
      herd,
      [
        "start",
        "--home",
        home,
        "--port",
        String(port),
        "--cluster-port",
        String(await findFreePort()),
        "--no-discovery",
      ],
      {
        cwd: folder,
        env,
        stdio: ["ignore", openSync(join(folder, "node.log"), "a"), openSync(join(folder, "node.log"), "a")],
      },
    );
    const exited = new Promise<number | null>((resolve) => node.once("exit", resolve));
    stops.push(async () => {
      if (node.exitCode === null && node.signalCode === null) node.kill("SIGINT");
      await exited;
    });
    const client = new HerdClient({ baseUrl: `http://127.0.0.1:${port}` });
    await waitFor("the installed herd serving", () => client.node(), 60_000).catch(async (error) => {
      throw new Error(`${(error as Error).message}\n${await readFile(join(folder, "node.log"), "utf8")}`);
    });
    const cli = (args: string[]) =>
      runCommand(herd, args, { cwd: folder, env: { ...env, HERD_URL: client.baseUrl }, timeoutMs: 120_000 });
    for (const command of [
      ["models", "import", sharedModelPath],
      ["load", "stories260K", "--parallel", "1", "--ctx", "256"],
    ]) {
      const result = await cli(command);
      expect(result.code, result.stderr).toBe(0);
    }
    const response = await fetch(`${client.baseUrl}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({
        model: "stories260K",
        prompt: "Once upon a time",
        max_tokens: 8,
        temperature: 0,
      }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { choices: Array<{ text: string }> };
    expect(body.choices[0]!.text.length).toBeGreaterThan(0);

    // A service installed from here runs this install, not a checkout.
    const unit = await cli(["service", "install", "--print", "--home", home]);
    expect(unit.stdout).toContain(
      `ExecStart=${process.execPath} ${prefix}/lib/node_modules/herd-llm/bin/herd.js start`,
    );
    expect(unit.stdout).toContain(`WorkingDirectory=${prefix}/lib/node_modules/herd-llm\n`);

    node.kill("SIGINT");
    expect(await exited).toBe(0);
  });
});
