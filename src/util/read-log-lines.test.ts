import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readLogLines } from "./read-log-lines.js";
import { RotatingLogFile } from "./rotating-log-file.js";

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "herd-log-"));
});
afterEach(() => rm(directory, { recursive: true, force: true }));

async function collect(lines: AsyncIterable<string>, count: number): Promise<string[]> {
  const result: string[] = [];
  for await (const line of lines) {
    result.push(line);
    if (result.length === count) break;
  }
  return result;
}

describe("readLogLines", () => {
  it("gives the last lines of a file", async () => {
    const path = join(directory, "node.log");
    await writeFile(path, Array.from({ length: 50 }, (_, index) => `line ${index}\n`).join(""));
    expect(await collect(readLogLines(path, { lines: 3, follow: false }), 10)).toEqual([
      "line 47",
      "line 48",
      "line 49",
    ]);
    expect(await collect(readLogLines(path, { lines: 0, follow: false }), 10)).toEqual([]);
    expect(
      await collect(readLogLines(join(directory, "absent.log"), { lines: 5, follow: false }), 10),
    ).toEqual([]);
  });

  it("follows appended lines, whole lines only, and starts over when the file is rotated", async () => {
    const path = join(directory, "node.log");
    await writeFile(path, "old\n");
    const abort = new AbortController();
    const lines = readLogLines(path, { lines: 1, follow: true, signal: abort.signal, pollMs: 20 });
    const seen = collect(lines, 4);
    await new Promise((resolve) => setTimeout(resolve, 60));
    await appendFile(path, "new 1\nnew ");
    await new Promise((resolve) => setTimeout(resolve, 60));
    await appendFile(path, "2\n");
    await new Promise((resolve) => setTimeout(resolve, 60));
    await rm(path);
    await writeFile(path, "after rotation\n");
    expect(await seen).toEqual(["old", "new 1", "new 2", "after rotation"]);
    abort.abort();
  });
});

describe("RotatingLogFile", () => {
  it("keeps the file under its cap by moving it aside to .1", async () => {
    const path = join(directory, "node.log");
    const file = new RotatingLogFile(path, 1000);
    for (let index = 0; index < 30; index++)
      file.write(`${JSON.stringify({ index, pad: "x".repeat(60) })}\n`);
    expect((await stat(path)).size).toBeLessThanOrEqual(1000);
    expect((await stat(`${path}.1`)).size).toBeLessThanOrEqual(1000);
    const last = (await readFile(path, "utf8")).trim().split("\n").at(-1)!;
    expect(JSON.parse(last).index).toBe(29);
  });
});
