const levelNames: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};

/** Fields every line has, shown in their own columns or not at all. */
const shownApart = new Set(["level", "time", "msg", "pid", "hostname", "name", "v"]);

/**
 * One JSON log line as a person reads it: time, level, message, then the other fields as
 * `key=value` (the request id first, since it is what ties lines together). Lines that are not
 * JSON are shown unchanged.
 *
 * @example renderLogLine('{"level":30,"time":0,"msg":"engine ready","instance":"a-1"}')
 *   // "00:00:00.000 INFO  engine ready  instance=a-1" (in local time)
 */
export function renderLogLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return line;
    record = parsed as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof record.time === "number" ? formatTime(new Date(record.time)) : "";
  const level = (levelNames[record.level as number] ?? String(record.level ?? "")).padEnd(5);
  const fields = Object.entries(record)
    .filter(([key]) => !shownApart.has(key))
    .sort(([a], [b]) => (a === "requestId" ? -1 : b === "requestId" ? 1 : 0))
    .map(([key, value]) => `${key}=${formatValue(key, value)}`);
  return [time, level, String(record.msg ?? ""), ...(fields.length > 0 ? [` ${fields.join(" ")}`] : [])]
    .filter((part) => part !== "")
    .join(" ");
}

function formatTime(date: Date): string {
  const pad = (value: number, width = 2) => String(value).padStart(width, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

function formatValue(key: string, value: unknown): string {
  // pino's serialized errors: the message says it; the stack is in the raw log (--json).
  if (key === "err" && typeof value === "object" && value !== null && "message" in value) {
    return JSON.stringify((value as { message: unknown }).message);
  }
  if (typeof value === "string") return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  const text = JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}
