import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { Backend } from "./protocol/engine.js";

export const defaultPort = 52415;
export const defaultClusterPort = 52416;

/** How `herd start` takes a setting: its flag as commander spells it, its help, and the value given. */
export interface SettingFlag {
  /** `--port <port>`; a `--no-x` flag turns a setting that is on by default off. */
  readonly spec: string;
  readonly description: string;
  /**
   * `integer`: a positive whole number; `off-or-integer`: a whole number, 0 turning the feature off;
   * `list`: comma-separated; `text` and `switch` as given.
   */
  readonly value: "text" | "integer" | "off-or-integer" | "list" | "switch";
  /**
   * The flag's value when it is not given, shown in the help. The flag then always wins over the
   * environment variable (as it has since the flags were written).
   */
  readonly default?: string | number;
}

/** How a setting reads the environment: the first of `names` whose text `read` turns into a value. */
export interface SettingEnv<Value> {
  readonly names: readonly string[];
  readonly read: (text: string) => Value | undefined;
}

/** One setting: the schema of its value (with its default), and where it comes from. */
export interface Setting<Schema extends z.ZodType> {
  readonly schema: Schema;
  readonly env?: SettingEnv<z.input<Schema>>;
  readonly flag?: SettingFlag;
}

/** Keeps whether a setting has a flag in its type, so that `ConfigOverrides` holds only those. */
const setting = <Schema extends z.ZodType, Flag extends SettingFlag | undefined = undefined>(definition: {
  schema: Schema;
  env?: SettingEnv<z.input<Schema>>;
  flag?: Flag;
}) => definition as Setting<Schema> & { flag: Flag };

/** The variable's text as it is (set but empty is still set). */
const text = (name: string): SettingEnv<string> => ({ names: [name], read: (value) => value });
/** A whole number; an empty variable counts as unset. */
const integer = (name: string): SettingEnv<number> => ({
  names: [name],
  read: (value) => (value ? Number.parseInt(value, 10) : undefined),
});
/** Comma-separated; an empty variable counts as unset. */
const list = (name: string): SettingEnv<string[]> => ({
  names: [name],
  read: (value) => (value ? value.split(",") : undefined),
});
/** A switch: on when the variable's text is one of `on`, off for any other text. */
const switchedOn = (name: string, ...on: string[]): SettingEnv<boolean> => ({
  names: [name],
  read: (value) => on.includes(value),
});

/**
 * Every setting of a node, in the order `herd start --help` lists its flags. A flag wins over its
 * environment variable, which wins over the schema's default. The settings without a flag are read
 * from the environment only.
 */
export const nodeSettings = {
  host: setting({
    schema: z.string().default("127.0.0.1"),
    env: text("HERD_HOST"),
    flag: { spec: "--host <host>", description: "address for the API", value: "text", default: "127.0.0.1" },
  }),
  port: setting({
    schema: z.number().int().default(defaultPort),
    env: integer("HERD_PORT"),
    flag: { spec: "--port <port>", description: "API port", value: "integer", default: defaultPort },
  }),
  clusterPort: setting({
    schema: z.number().int().default(defaultClusterPort),
    env: integer("HERD_CLUSTER_PORT"),
    flag: {
      spec: "--cluster-port <port>",
      description: "cluster channel port",
      value: "integer",
      default: defaultClusterPort,
    },
  }),
  clusterHost: setting({
    schema: z.string().optional(),
    env: text("HERD_CLUSTER_HOST"),
    flag: {
      spec: "--cluster-host <host>",
      description: "address for the cluster channel (default: --host)",
      value: "text",
    },
  }),
  joinToken: setting({
    schema: z.string().optional(),
    env: text("HERD_JOIN"),
    flag: {
      spec: "--join <token>",
      description: "join the cluster this token belongs to (from 'herd join-token')",
      value: "text",
    },
  }),
  peers: setting({
    schema: z.array(z.string()).default([]),
    env: list("HERD_PEERS"),
    flag: {
      spec: "--peers <list>",
      description: "cluster channels to dial, host:port,... (where multicast does not reach)",
      value: "list",
    },
  }),
  memoryLimit: setting({
    schema: z.string().optional(),
    env: text("HERD_MEMORY_LIMIT"),
    flag: {
      spec: "--memory-limit <size>",
      description: "advertise at most this much memory, e.g. 8G",
      value: "text",
    },
  }),
  name: setting({
    schema: z.string().optional(),
    env: text("HERD_NAME"),
    flag: {
      spec: "--name <name>",
      description: "this node's name in the cluster (default: host name)",
      value: "text",
    },
  }),
  discovery: setting({
    schema: z.boolean().default(true),
    env: { names: ["HERD_DISCOVERY"], read: (value) => value !== "off" },
    flag: { spec: "--no-discovery", description: "do not look for peers by LAN multicast", value: "switch" },
  }),
  home: setting({
    schema: z.string().default(() => join(homedir(), ".herd")),
    env: text("HERD_HOME"),
    flag: { spec: "--home <dir>", description: "state folder (HERD_HOME, default ~/.herd)", value: "text" },
  }),
  engineDirectory: setting({
    schema: z.string().optional(),
    env: text("HERD_ENGINE_DIR"),
    flag: {
      spec: "--engine-dir <dir>",
      description: "use llama.cpp binaries from this folder (HERD_ENGINE_DIR)",
      value: "text",
    },
  }),
  ollamaPort: setting({
    schema: z.number().int().optional(),
    env: integer("HERD_OLLAMA_PORT"),
    flag: {
      spec: "--ollama-port <port>",
      description: "also serve the API on this port, as Ollama does on 11434",
      value: "integer",
    },
  }),
  autoload: setting({
    schema: z.boolean().default(false),
    env: switchedOn("HERD_AUTOLOAD", "on"),
    flag: {
      spec: "--autoload",
      description: "load a known model that is not loaded when a request asks for it (default: answer 503)",
      value: "switch",
    },
  }),
  failoverTimeout: setting({
    schema: z.number().int().min(0).default(60),
    env: integer("HERD_FAILOVER_TIMEOUT"),
    flag: {
      spec: "--failover-timeout <seconds>",
      description:
        "seconds a streamed reply whose instance failed waits for another to continue it (0: replies are not continued)",
      value: "off-or-integer",
      default: 60,
    },
  }),
  streamGather: setting({
    schema: z.number().int().min(0).default(10),
    env: integer("HERD_STREAM_GATHER"),
    flag: {
      spec: "--stream-gather <ms>",
      description:
        "milliseconds within which a streamed reply's tokens leave in one write when they come faster (0: each as it comes)",
      value: "off-or-integer",
      default: 10,
    },
  }),
  engineThreads: setting({
    schema: z.number().int().positive().optional(),
    env: integer("HERD_ENGINE_THREADS"),
    flag: {
      spec: "--engine-threads <n>",
      description:
        "CPU threads for each of this node's engines where a load names none (default: one per performance core, as llama.cpp takes)",
      value: "integer",
    },
  }),
  insecureNoAuth: setting({
    schema: z.boolean().default(false),
    env: switchedOn("HERD_INSECURE_NO_AUTH", "1"),
    flag: {
      spec: "--insecure-no-auth",
      description: "serve a non-loopback API without API keys (labs only)",
      value: "switch",
    },
  }),
  corsOrigins: setting({
    schema: z.array(z.string()).default([]),
    env: list("HERD_CORS_ORIGIN"),
    flag: {
      spec: "--cors-origin <list>",
      description: "let browsers on these origins call the API (comma-separated)",
      value: "list",
    },
  }),
  maxBody: setting({
    schema: z.string().optional(),
    env: text("HERD_MAX_BODY"),
    flag: {
      spec: "--max-body <size>",
      description: "largest request body accepted, e.g. 8M (default 8M)",
      value: "text",
    },
  }),
  maxQueue: setting({
    schema: z.number().default(64),
    env: integer("HERD_MAX_QUEUE"),
    flag: {
      spec: "--max-queue <n>",
      description: "requests queued per instance before 503",
      value: "integer",
    },
  }),
  warmup: setting({
    schema: z.boolean().default(true),
    env: { names: ["HERD_WARMUP"], read: (value) => value !== "off" },
    flag: {
      spec: "--no-warmup",
      description: "mark engines READY without first running one short generation on each",
      value: "switch",
    },
  }),
  backend: setting({
    schema: z.union([Backend, z.literal("auto")]).optional(),
    env: { names: ["HERD_BACKEND"], read: (value) => value as Backend },
    flag: { spec: "--backend <backend>", description: "engine backend", value: "text" },
  }),
  engineCache: setting({ schema: z.string().optional(), env: text("HERD_ENGINE_CACHE") }),
  hubEndpoint: setting({
    schema: z.string().default("https://huggingface.co"),
    env: { names: ["HF_ENDPOINT"], read: (value) => value || undefined },
  }),
  hubToken: setting({
    schema: z.string().optional(),
    env: { names: ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"], read: (value) => value || undefined },
  }),
  hubOffline: setting({ schema: z.boolean().default(false), env: switchedOn("HF_HUB_OFFLINE", "1", "true") }),
  calibrate: setting({
    schema: z.boolean().default(true),
    env: { names: ["HERD_CALIBRATE"], read: (value) => value !== "off" },
  }),
};

type NodeSettings = typeof nodeSettings;
export type SettingName = keyof NodeSettings;
/** The settings `herd start` has a flag for. */
export type FlagSettingName = {
  [Name in SettingName]: NodeSettings[Name]["flag"] extends SettingFlag ? Name : never;
}[SettingName];

/** The schema of every setting's value once its source is chosen, defaults filled in. */
export const NodeSettingsSchema = z.object(
  Object.fromEntries(Object.entries(nodeSettings).map(([name, { schema }]) => [name, schema])) as {
    [Name in SettingName]: NodeSettings[Name]["schema"];
  },
);
