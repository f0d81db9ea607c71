import { open, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCommand } from "../src/engine/run-command.js";
import { HerdProcess, sharedModelPath, stopAllHerdProcesses, waitFor } from "./support/herd-process.js";

afterAll(stopAllHerdProcesses);

/** Rows of a table the CLI printed, as arrays of cells (split on runs of two or more spaces). */
const rows = (table: string) =>
  table
    .trimEnd()
    .split("\n")
    .slice(1)
    .map((line) => line.split(/ {2,}/));

describe("herd models verify", () => {
  it("finds a stored file that changed, marks it corrupt, and load and health say so", async () => {
    const node = await HerdProcess.start({ args: ["--name", "a"] });
    for (const command of [
      ["models", "import", sharedModelPath],
      // A copy of its own, so that damaging it leaves the shared file alone.
      ["models", "import", sharedModelPath, "--name", "damaged", "--copy"],
    ]) {
      expect((await node.cli(command)).code).toBe(0);
    }
    // The checksum recorded at import is the file's, as sha256sum computes it.
    const damaged = (await node.client.models()).find((model) => model.name === "damaged")!;
    const sum = await runCommand("sha256sum", [damaged.file]);
    expect(damaged.files).toEqual([
      { name: "stories260K-f32.gguf", sizeBytes: damaged.sizeBytes, sha256: sum.stdout.split(" ")[0] },
    ]);
    const listed = await node.cli(["models", "list"]);
    expect(rows(listed.stdout).map((cells) => [cells[0], cells[6]])).toEqual([
      ["damaged", "recorded"],
      ["stories260K", "recorded"],
    ]);

    const clean = await node.cli(["models", "verify"]);
    expect(clean.code).toBe(0);
    expect(rows(clean.stdout).map((cells) => cells.slice(0, 4))).toEqual([
      ["a", "damaged", "verified", "1.1 MiB"],
      ["a", "stories260K", "verified", "1.1 MiB"],
    ]);

    // One byte in the middle of the weights changes, as a failing disk would change it.
    const file = await open(damaged.file, "r+");
    await file.write(Buffer.from([0x5a]), 0, 1, 600_000);
    await file.close();
    const found = await node.cli(["models", "verify", "damaged"]);
    expect(found.code).toBe(1);
    const [row] = rows(found.stdout);
    expect(row!.slice(0, 3)).toEqual(["a", "damaged", "corrupt"]);
    expect(row![5]).toMatch(/^stories260K-f32\.gguf has sha256 [0-9a-f]{64}, recorded [0-9a-f]{64}$/);
    expect(rows((await node.cli(["models", "list"])).stdout)[0]!.slice(0, 7)).toEqual([
      "damaged",
      "llama",
      "F32",
      "293K",
      "1.1 MiB",
      "5",
      "corrupt",
    ]);

    const refused = await node.cli(["load", "damaged"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^herd: model 'damaged' is corrupt \(stories260K-f32\.gguf has sha256 .+\); import it again from a good copy, or remove it \(herd models rm damaged\) and load it with --nodes <this node> to copy it from a peer that holds it\n$/,
    );
    const health = await waitFor("the corrupt model in herd health", async () => {
      const result = await node.cli(["health"]);
      return result.stdout.includes("damaged") ? result : undefined;
    });
    expect(health.code).toBe(1);
    expect(health.stdout).toContain(
      "node a: model damaged is corrupt (its file no longer matches the sha256 recorded when it was stored)",
    );

    // A model stored before checksums were recorded gets them recorded by its first verification.
    const profilePath = join(node.home, "models/stories260K/profile.json");
    const { files: _, ...older } = JSON.parse(await readFile(profilePath, "utf8"));
    await writeFile(profilePath, JSON.stringify(older));
    const recorded = await node.cli(["models", "verify", "stories260K"]);
    expect(rows(recorded.stdout).map((cells) => cells[2])).toEqual(["recorded"]);
    expect(JSON.parse(await readFile(profilePath, "utf8")).files).toHaveLength(1);

    // Every node's store, through the node the CLI talks to.
    const peer = await HerdProcess.start({ args: ["--name", "b", "--join", await node.client.joinToken()] });
    expect((await peer.cli(["models", "import", sharedModelPath, "--name", "b-copy", "--copy"])).code).toBe(
      0,
    );
    await waitFor("b alive", async () =>
      (await node.client.cluster()).nodes.filter((member) => member.state === "alive").length === 2
        ? true
        : undefined,
    );
    const everywhere = await node.cli(["models", "verify", "--all-nodes"]);
    expect(everywhere.code).toBe(1);
    expect(rows(everywhere.stdout).map((cells) => cells.slice(0, 3))).toEqual([
      ["a", "damaged", "corrupt"],
      ["a", "stories260K", "verified"],
      ["b", "b-copy", "verified"],
    ]);
  });
});
