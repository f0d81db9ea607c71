import { describe, expect, it } from "vitest";
import { describeExit } from "./llama-server-supervisor.js";

describe("describeExit", () => {
  it.each([
    {
      name: "an exit code, no output",
      exit: { code: 1, signal: null },
      output: [],
      text: "engine exit code 1",
    },
    {
      name: "a signal, no output",
      exit: { code: null, signal: "SIGKILL" as const },
      output: [],
      text: "engine killed by SIGKILL",
    },
    {
      name: "output without an error line",
      exit: { code: 0, signal: null },
      output: [
        "main: server is listening on http://127.0.0.1:41234",
        "srv  update_slots: all slots are idle",
      ],
      text: "engine exit code 0",
    },
    {
      name: "an error line",
      exit: { code: 1, signal: null },
      output: [
        "build: 1 (de3ff81) with cc",
        "llama_model_load: error loading model: tensor 'blk.0.attn_q.weight' data is not within the file bounds",
        "main: exiting due to model loading error",
      ],
      text: "engine exit code 1: main: exiting due to model loading error",
    },
    {
      name: "the last of several error lines, trimmed",
      exit: { code: 1, signal: null },
      output: ["   first ERROR   ", "  second Failed to allocate  ", "goodbye"],
      text: "engine exit code 1: second Failed to allocate",
    },
    {
      name: "a fatal line and a signal",
      exit: { code: null, signal: "SIGABRT" as const },
      output: ["ggml.c:1234: GGML_ASSERT(x) failed", "fatal: aborting"],
      text: "engine killed by SIGABRT: fatal: aborting",
    },
    {
      name: "an abort line",
      exit: { code: null, signal: "SIGILL" as const },
      output: ["load_tensors: loading model", "Abort trap"],
      text: "engine killed by SIGILL: Abort trap",
    },
  ])("describes $name", ({ exit, output, text }) => {
    expect(describeExit(exit, output)).toBe(text);
  });

  it("cuts a long error line to 300 characters", () => {
    const line = `error: ${"x".repeat(1000)}`;
    expect(describeExit({ code: 1, signal: null }, [line])).toBe(`engine exit code 1: ${line.slice(0, 300)}`);
  });

  it("leaves the output it is given as it was", () => {
    const output = ["error one", "ok"];
    describeExit({ code: 1, signal: null }, output);
    expect(output).toEqual(["error one", "ok"]);
  });

  // When the engine cannot start at all (binary missing or not executable), herd's own line about
  // it is the reason.
  it("keeps the reason when the engine could not be started", () => {
    const output = ["herd: could not start the engine: spawn /opt/llama/llama-server ENOENT"];
    expect(describeExit({ code: -1, signal: null }, output)).toContain("ENOENT");
  });
});
