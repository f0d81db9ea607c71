/** `1536` → `1.5 KiB` (binary units, as memory is counted). */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1023.95 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(Math.abs(value) >= 99.95 ? 0 : 1)} ${units[unit]}`;
}

/** Link round-trip time: two significant decimals below 10 ms. */
export function formatMilliseconds(milliseconds: number): string {
  return `${milliseconds < 10 ? milliseconds.toFixed(2) : milliseconds.toFixed(0)} ms`;
}

/** Link throughput in bytes per second. */
export function formatThroughput(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

export function formatRate(tokensPerSecond: number): string {
  return tokensPerSecond >= 100 ? tokensPerSecond.toFixed(0) : tokensPerSecond.toFixed(1);
}

/** `83456` → `1m 23s`. */
export function formatDuration(milliseconds: number): string {
  const seconds = Math.round(milliseconds / 1000);
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(seconds / 3600)}h ${String(Math.floor(seconds / 60) % 60).padStart(2, "0")}m`;
}

/** How long ago an ISO time was, for people. */
export function formatAgo(iso: string, now = Date.now()): string {
  const elapsed = now - Date.parse(iso);
  return elapsed < 1500 ? "just now" : `${formatDuration(elapsed)} ago`;
}

export function formatCount(count: number): string {
  if (count >= 1e9) return `${(count / 1e9).toFixed(1)}B`;
  if (count >= 1e6) return `${(count / 1e6).toFixed(1)}M`;
  if (count >= 1e3) return `${(count / 1e3).toFixed(0)}K`;
  return String(count);
}

/** `MOSTLY_Q4_K_M` → `Q4_K_M`. */
export function formatFileType(fileType: string): string {
  return fileType.replace(/^MOSTLY_/, "");
}
