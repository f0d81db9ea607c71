/** What `rdma_ctl status` says; `missing` where the command does not exist (before macOS 26.2). */
export type RdmaControlStatus = "enabled" | "disabled" | "missing" | "unknown";

/** Parses `rdma_ctl status`, which prints `enabled` or `disabled`. */
export function parseRdmaControlStatus(output: string): RdmaControlStatus {
  const text = output.trim().toLowerCase();
  if (text === "enabled" || text === "disabled") return text;
  return "unknown";
}

/** Parses `sw_vers -productVersion` (`26.2`, `15.6.1`) into its numbers. */
export function parseMacosVersion(output: string): number[] | undefined {
  const text = output.trim();
  return /^\d+(\.\d+)*$/.test(text) ? text.split(".").map(Number) : undefined;
}

/** Whether `version` is `minimum` or later, part by part (`26.10` is after `26.2`). */
export function isVersionAtLeast(version: readonly number[], minimum: readonly number[]): boolean {
  for (let index = 0; index < Math.max(version.length, minimum.length); index++) {
    const difference = (version[index] ?? 0) - (minimum[index] ?? 0);
    if (difference !== 0) return difference > 0;
  }
  return true;
}
