import { describe, expect, it } from "vitest";
import { flagValue } from "../../test/support/command-line.js";
import { type LlamaServerArgsInput, llamaServerArgs } from "./llama-server-args.js";

const base: LlamaServerArgsInput = {
  modelPath: "/home/alice/.herd/models/stories260K/stories260K-f32.gguf",
  alias: "stories260K",
  port: 41234,
  contextSize: 8192,
  parallel: 4,
  embeddings: false,
  modelHasPooling: false,
  apiKeyFile: "/home/alice/.herd/run/stories260K-abc123.key",
  workarounds: [],
};

const variants: Array<{ name: string; input: Partial<LlamaServerArgsInput> }> = [
  { name: "the defaults", input: {} },
  { name: "embeddings", input: { embeddings: true } },
  { name: "threads", input: { threads: 2 } },
  { name: "workarounds", input: { workarounds: ["--no-repack"] } },
];

describe("llamaServerArgs", () => {
  it("passes the model, alias, port, context and slots", () => {
    expect(llamaServerArgs(base)).toEqual([
      "--model",
      base.modelPath,
      "--alias",
      "stories260K",
      "--host",
      "127.0.0.1",
      "--port",
      "41234",
      "--ctx-size",
      "8192",
      "--parallel",
      "4",
      "--api-key-file",
      base.apiKeyFile,
      "--no-webui",
      "--metrics",
      "--log-verbosity",
      "4",
      "--jinja",
    ]);
  });

  it.each(variants)("binds to loopback only, with $name", ({ input }) => {
    const args = llamaServerArgs({ ...base, ...input });
    expect(args.filter((arg) => arg === "--host")).toHaveLength(1);
    expect(flagValue(args, "--host")).toBe("127.0.0.1");
    expect(args).not.toContain("0.0.0.0");
  });

  it.each(variants)("passes the key as a file, never on the command line, with $name", ({ input }) => {
    const args = llamaServerArgs({ ...base, ...input });
    expect(flagValue(args, "--api-key-file")).toBe(base.apiKeyFile);
    expect(args).not.toContain("--api-key");
  });

  it.each([
    { embeddings: false, modelHasPooling: false, expected: [] },
    { embeddings: false, modelHasPooling: true, expected: [] },
    { embeddings: true, modelHasPooling: false, expected: ["--embeddings", "--pooling", "mean"] },
    { embeddings: true, modelHasPooling: true, expected: ["--embeddings"] },
  ])(
    "with embeddings $embeddings and a model with pooling $modelHasPooling, adds $expected",
    ({ embeddings, modelHasPooling, expected }) => {
      const args = llamaServerArgs({ ...base, embeddings, modelHasPooling });
      expect(args.slice(llamaServerArgs(base).length)).toEqual(expected);
    },
  );

  it.each([
    { threads: undefined, expected: undefined },
    { threads: 1, expected: "1" },
    { threads: 16, expected: "16" },
  ])("sets --threads to $expected for threads $threads", ({ threads, expected }) => {
    const args = llamaServerArgs({ ...base, threads });
    expect(flagValue(args, "--threads")).toBe(expected);
    expect(args.includes("--threads")).toBe(expected !== undefined);
  });

  it.each([{ workarounds: ["--no-repack"] }, { workarounds: ["--no-repack", "--no-mmap"] }])(
    "appends the workarounds $workarounds last",
    ({ workarounds }) => {
      const args = llamaServerArgs({ ...base, embeddings: true, threads: 3, workarounds });
      expect(args.slice(-workarounds.length)).toEqual(workarounds);
      expect(args.slice(0, -workarounds.length)).toEqual(
        llamaServerArgs({ ...base, embeddings: true, threads: 3 }),
      );
    },
  );

  it("keeps a model path with spaces as one argument", () => {
    const modelPath = "/Users/Alice Smith/models/my model.gguf";
    expect(flagValue(llamaServerArgs({ ...base, modelPath }), "--model")).toBe(modelPath);
  });

  it("adds a draft model for speculative decoding, kept on the head for a split instance", () => {
    const args = llamaServerArgs({
      ...base,
      threads: 1,
      draft: { modelPath: "/models/draft.gguf", maxTokens: 6, headOnly: true },
    });
    expect(flagValue(args, "--spec-type")).toBe("draft-simple");
    expect(flagValue(args, "--spec-draft-model")).toBe("/models/draft.gguf");
    expect(flagValue(args, "--spec-draft-n-max")).toBe("6");
    expect(flagValue(args, "--spec-draft-threads")).toBe("1");
    expect(flagValue(args, "--spec-draft-device")).toBe("none");
    expect(flagValue(llamaServerArgs(base), "--spec-draft-model")).toBeUndefined();
  });
});
