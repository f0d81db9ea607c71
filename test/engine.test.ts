import { chmod, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { HerdProcess, runCli, sharedModelPath, stopAllHerdProcesses } from "./support/herd-process.js";

afterAll(stopAllHerdProcesses);

describe("herd engine info", () => {
  it("describes the engine in use", async () => {
    const home = await mkdtemp(join(tmpdir(), "herd-test-"));
    const result = await runCli(["engine", "info", "--home", home], {
      ...process.env,
      HERD_ENGINE_DIR: inject("engineDirectory"),
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/llama-server\s+\S+llama-server/);
    expect(result.stdout).toMatch(/version\s+\S+/);
    expect(result.stdout).toContain("workarounds      none");
    await rm(home, { recursive: true, force: true });
  });

  it("says what is wrong with a folder that holds no engine", async () => {
    const empty = await mkdtemp(join(tmpdir(), "herd-no-engine-"));
    const result = await runCli(["engine", "info", "--home", empty], {
      ...process.env,
      HERD_ENGINE_DIR: empty,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no llama-server in ${empty}`);
    expect(result.stderr).toContain("HERD_ENGINE_DIR");
    await rm(empty, { recursive: true, force: true });
  });

  it("refuses llama.cpp binaries built without RPC and names the fix", async () => {
    const folder = await mkdtemp(join(tmpdir(), "herd-no-rpc-"));
    await symlink(join(inject("engineDirectory"), "llama-server"), join(folder, "llama-server"));
    const result = await runCli(["engine", "info", "--home", folder], {
      ...process.env,
      HERD_ENGINE_DIR: folder,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("no ggml-rpc-server");
    expect(result.stderr).toContain("-DGGML_RPC=ON");
    await rm(folder, { recursive: true, force: true });
  });
});

/**
 * Some CPUs advertise instructions they fault on, and llama.cpp's weight repacking dies with SIGILL
 * there. This engine folder reproduces that machine: its llama-server is the real one, but it
 * raises SIGILL on itself when asked to load a model without --no-repack.
 */
describe("an engine that dies of SIGILL while loading", () => {
  let folder: string;
  let node: HerdProcess;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), "herd-sigill-engine-"));
    const real = join(inject("engineDirectory"), "llama-server");
    await writeFile(
      join(folder, "llama-server"),
      `#!/bin/sh\ncase " $* " in\n  *" --model "*) case " $* " in *" --no-repack "*) ;; *) kill -ILL $$ ;; esac ;;\nesac\nexec "${real}" "$@"\n`,
    );
    await chmod(join(folder, "llama-server"), 0o755);
    await symlink(join(inject("engineDirectory"), "ggml-rpc-server"), join(folder, "ggml-rpc-server"));
    node = await HerdProcess.start({ env: { HERD_ENGINE_DIR: folder } });
    await node.cli(["models", "import", sharedModelPath]);
  });
  afterAll(async () => {
    await stopAllHerdProcesses();
    await rm(folder, { recursive: true, force: true });
  });

  it("falls back to --no-repack, says so in the log and in engine info, and serves", async () => {
    const loaded = await node.cli(["load", "stories260K"]);
    expect(loaded.code, `${loaded.stdout}\n${loaded.stderr}`).toBe(0);
    expect(loaded.stdout).toContain("SIGILL");
    const [status] = await node.client.instances();
    expect(status).toMatchObject({ state: "READY", workarounds: ["--no-repack"] });

    const response = await fetch(`${node.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({
        model: "stories260K",
        prompt: "Once upon a time",
        temperature: 0,
        max_tokens: 16,
      }),
    });
    expect(((await response.json()) as { choices: Array<{ text: string }> }).choices[0]!.text).toContain(
      "Lily",
    );

    expect(await node.log()).toMatch(/died of SIGILL while loading; retrying with --no-repack/);
    const info = await node.cli(["engine", "info"]);
    expect(info.stdout).toMatch(/--no-repack: the engine died of SIGILL/);
  });

  it("applies the workaround at once after a restart", async () => {
    await node.stop();
    const again = await HerdProcess.start({ home: node.home, env: { HERD_ENGINE_DIR: folder } });
    const status = await waitForReady(again);
    expect(status.restarts).toBe(0);
    expect(status.workarounds).toEqual(["--no-repack"]);
  });
});

async function waitForReady(node: HerdProcess) {
  for (let attempt = 0; attempt < 300; attempt++) {
    const [status] = await node.client.instances();
    if (status?.state === "READY") return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("instance did not become READY");
}
