import { type Logger, pino } from "pino";
import { currentRequest } from "./request-context.js";
import { RotatingLogFile } from "./rotating-log-file.js";

export type { Logger };

/**
 * The node's structured logger: JSON lines on stderr (stdout stays free for command output) and, when
 * `file` is given, in that file too (size-capped, for `herd logs`). Lines written while serving a
 * request carry its `requestId`. `HERD_LOG_LEVEL` sets the level. Default `info`.
 */
export function createLogger(
  options: {
    name?: string;
    level?: string;
    file?: string;
    /** Where lines go instead of stderr (tests). */
    stream?: pino.DestinationStream;
  } = {},
): Logger {
  const level = options.level ?? process.env.HERD_LOG_LEVEL ?? "info";
  const stderr = options.stream ?? pino.destination({ fd: 2, sync: true });
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
    },
    destination,
  );
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
