import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EngineProcess } from "./engine-process.js";

describe("EngineProcess", () => {
  let folder: string;
  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), "herd-engine-process-"));
  });
  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it("logs whole lines of both streams, however the engine splits its writes, and shows each line once", async () => {
    const logPath = join(folder, "engine.log");
    const seen: string[] = [];
    const engine = await EngineProcess.spawn({
      command: "sh",
      // A line written in two pieces, several lines in one write, stderr between, no last newline.
      args: [
        "-c",
        "printf 'first ha'; sleep 0.05; printf 'lf\\nsecond\\nthird\\n'; printf 'to stderr\\n' >&2; sleep 0.05; printf 'last'",
      ],
      logPath,
      onLine: (line) => seen.push(line),
    });
    expect(await engine.exited).toEqual({ code: 0, signal: null });
    const expected = ["first half", "second", "third", "to stderr", "last"];
    expect([...seen].sort()).toEqual([...expected].sort());
    expect(seen.filter((line) => line !== "to stderr")).toEqual(["first half", "second", "third", "last"]);
    expect([...engine.recentOutput()].sort()).toEqual([...expected].sort());
    const logged = (await readFile(logPath, "utf8")).split("\n");
    expect(logged[0]).toMatch(/^--- .* herd starts: sh -c/);
    expect(logged.slice(1).filter(Boolean).sort()).toEqual([...expected].sort());
  });

  it("keeps the lines before output that is not UTF-8, and still sees the engine exit", async () => {
    const logPath = join(folder, "engine.log");
    const engine = await EngineProcess.spawn({
      command: "sh",
      args: ["-c", "printf 'readable\\n'; sleep 0.05; printf '\\377\\376 broken\\n'; exit 3"],
      logPath,
    });
    expect(await engine.exited).toEqual({ code: 3, signal: null });
    expect(engine.recentOutput()).toEqual(["readable"]);
  });
});
