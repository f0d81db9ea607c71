import { type Logger, pino } from "pino";

export type { Logger };

/**
 * The node's structured logger: JSON lines on stderr (stdout stays free for command output).
 * `HERD_LOG_LEVEL` sets the level. Default `info`.
 */
export function createLogger(options: { name?: string; level?: string } = {}): Logger {
  return pino(
    {
      name: options.name ?? "herd",
      level: options.level ?? process.env.HERD_LOG_LEVEL ?? "info",
      base: { pid: process.pid },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
