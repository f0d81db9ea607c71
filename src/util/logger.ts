import { type DestinationStream, type Logger, pino } from "pino";
import { currentRequest } from "./request-context.js";
import { RotatingLogFile } from "./rotating-log-file.js";

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
 * The node's structured logger: JSON lines on stderr (stdout stays free for command output) and, when
 * `file` is given, in that file too (size-capped, for `herd logs`). Lines written while serving a
 * request carry its `requestId`; secrets are redacted. `HERD_LOG_LEVEL` sets the level. Default `info`.
 */
export function createLogger(
  options: {
    name?: string;
    level?: string;
    file?: string;
    /** Where lines go instead of stderr (tests). */
    destination?: DestinationStream;
  } = {},
): Logger {
  const level = options.level ?? process.env.HERD_LOG_LEVEL ?? "info";
  const stderr = options.destination ?? pino.destination({ fd: 2, sync: true });
  const destination = options.file
    ? pino.multistream([
        { level: level as pino.Level, stream: stderr },
        { level: level as pino.Level, stream: new RotatingLogFile(options.file) },
      ])
    : stderr;
  return pino(
    {
      name: options.name ?? "herd",
      level,
      base: { pid: process.pid },
      mixin: () => {
        const request = currentRequest();
        return request ? { requestId: request.requestId } : {};
      },
      redact: { paths: redactedPaths, censor: "[redacted]" },
    },
    destination,
  );
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
