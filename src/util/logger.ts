import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger };

/**
 * Fields that hold secrets (API keys, join tokens, the cluster key, engine keys): pino replaces
 * them wherever they appear at these depths, so that an object logged whole cannot leak one.
 */
const secretFields = [
  "authorization",
  "x-api-key",
  "apiKey",
  "secret",
  "token",
  "joinToken",
  "clusterKey",
  "key",
  "password",
];
export const redactedPaths = [
  ...secretFields,
  ...secretFields.map((field) => `*.${field}`),
  ...secretFields.map((field) => `*.*.${field}`),
  ...secretFields.map((field) => `headers["${field}"]`),
  ...secretFields.map((field) => `*.headers["${field}"]`),
];

/**
 * The node's structured logger: JSON lines on stderr (stdout stays free for command output).
 * `HERD_LOG_LEVEL` sets the level. Default `info`.
 */
export function createLogger(
  options: { name?: string; level?: string; destination?: DestinationStream } = {},
): Logger {
  return pino(
    {
      name: options.name ?? "herd",
      level: options.level ?? process.env.HERD_LOG_LEVEL ?? "info",
      base: { pid: process.pid },
      redact: { paths: redactedPaths, censor: "[redacted]" },
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
