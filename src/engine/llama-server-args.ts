export interface LlamaServerArgsInput {
  modelPath: string;
  alias: string;
  port: number;
  contextSize: number;
  parallel: number;
  embeddings: boolean;
  /** The model names its own pooling; otherwise embeddings use mean pooling. */
  modelHasPooling: boolean;
  threads?: number;
  /** Speculative decoding with a draft model of the same vocabulary. */
  draft?: {
    modelPath: string;
    /** Most tokens drafted at a time; llama.cpp's default (3) when absent. */
    maxTokens?: number;
    /** Keep the draft off RPC devices (a split instance): on the head's CPU. */
    headOnly: boolean;
  };
  /** A file holding the key herd sends with every request; llama-server rejects requests without it. */
  apiKeyFile: string;
  /** Workaround flags for this machine, e.g. `--no-repack`. */
  workarounds: string[];
}

/**
 * The llama-server command line for one local instance. Always bound to loopback: the only way in
 * from outside is herd's API.
 */
export function llamaServerArgs(input: LlamaServerArgsInput): string[] {
  const args = [
    "--model",
    input.modelPath,
    "--alias",
    input.alias,
    "--host",
    "127.0.0.1",
    "--port",
    String(input.port),
    "--ctx-size",
    String(input.contextSize),
    "--parallel",
    String(input.parallel),
    "--api-key-file",
    input.apiKeyFile,
    "--no-webui",
    "--metrics",
    // Level 4 adds llama.cpp's own report of each buffer it allocates ("model buffer size = ..."),
    // which herd checks against the planner's estimate; the log file is capped, so the few lines per
    // request it also adds cannot fill a disk.
    "--log-verbosity",
    "4",
    // Chat templates run as written (tool calls, reasoning); the pinned engine's default, said
    // explicitly for engines a user brings (--engine-dir) whose default may differ.
    "--jinja",
  ];
  if (input.embeddings) {
    args.push("--embeddings");
    if (!input.modelHasPooling) args.push("--pooling", "mean");
  }
  if (input.threads !== undefined) args.push("--threads", String(input.threads));
  if (input.draft) {
    // Without a type llama-server loads the draft but only drafts with types a GGUF names itself (MTP
    // heads, sidecars); a separate small model is `draft-simple`.
    args.push("--spec-type", "draft-simple", "--spec-draft-model", input.draft.modelPath);
    if (input.draft.maxTokens !== undefined) args.push("--spec-draft-n-max", String(input.draft.maxTokens));
    // The draft runs on the same cores as the target: the same thread limit applies to it.
    if (input.threads !== undefined) args.push("--spec-draft-threads", String(input.threads));
    if (input.draft.headOnly) args.push("--spec-draft-device", "none");
  }
  args.push(...input.workarounds);
  return args;
}
