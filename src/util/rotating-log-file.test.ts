import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RotatingLogFile } from "./rotating-log-file.js";

let directory: string;
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("RotatingLogFile", () => {
  it("moves the full file aside and keeps the newest lines within the cap", async () => {
    directory = await mkdtemp(join(tmpdir(), "herd-log-"));
    const path = join(directory, "engine.log");
    const log = new RotatingLogFile(path, 100);
    for (let index = 0; index < 25; index++) log.write(`line ${String(index).padStart(2, "0")}\n`);
    log.end();
    const current = await readFile(path, "utf8");
    const previous = await readFile(`${path}.1`, "utf8");
    expect(current.length).toBeLessThanOrEqual(100);
    expect(current.endsWith("line 24\n")).toBe(true);
    // Nothing is lost between the two files at the rotation that made `current`.
    const lines = `${previous}${current}`.trim().split("\n");
    const numbers = lines.map((line) => Number(line.slice(5)));
    expect(numbers).toEqual(numbers.map((_, index) => numbers[0]! + index));
  });

  it("appends to an existing file and counts its size", async () => {
    directory = await mkdtemp(join(tmpdir(), "herd-log-"));
    const path = join(directory, "engine.log");
    const first = new RotatingLogFile(path, 1000);
    first.write("before\n");
    first.end();
    const second = new RotatingLogFile(path, 1000);
    second.write("after\n");
    second.end();
    expect(await readFile(path, "utf8")).toBe("before\nafter\n");
  });
});
