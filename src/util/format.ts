/** `1536` → `1.5 KiB`; binary units, as memory is counted. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  const rounded = (amount: number) =>
    unit === 0 ? String(amount) : amount.toFixed(Math.abs(amount) >= 99.95 ? 0 : 1);
  // Round before settling on a unit, so 1048575 B reads "1.0 MiB", not "1024 KiB".
  while (Math.abs(Number(rounded(value))) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${rounded(value)} ${units[unit]}`;
}

/** Parses `512M`, `8GiB`, `1.5g`, `1048576` into bytes; undefined when it is not a size. */
export function parseBytes(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$/i.exec(text);
  if (!match) return undefined;
  const power = { "": 0, k: 1, m: 2, g: 3, t: 4 }[match[2]!.toLowerCase() as "" | "k" | "m" | "g" | "t"];
  return Math.round(Number(match[1]) * 1024 ** power);
}

/** `83456` → `1m 23s`. */
export function formatDuration(milliseconds: number): string {
  const seconds = Math.round(milliseconds / 1000);
  if (seconds < 60) return `${(milliseconds / 1000).toFixed(1)}s`;
  return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, "0")}s`;
}

/** A count as people write parameter counts: 293K, 1.2M, 7.6B. */
export function formatCount(count: number): string {
  if (count >= 1e9) return `${(count / 1e9).toFixed(1)}B`;
  if (count >= 1e6) return `${(count / 1e6).toFixed(1)}M`;
  if (count >= 1e3) return `${(count / 1e3).toFixed(0)}K`;
  return String(count);
}
