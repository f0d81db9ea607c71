import { readFile } from "node:fs/promises";

/** A process's command line, as the kernel has it (Linux). */
export async function commandLine(pid: number | string): Promise<string[]> {
  return (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").filter(Boolean);
}

/** The value after `flag`, or undefined when the flag is absent. */
export function flagValue(args: string[], flag: string): string | undefined {
  const index = args.indexOf(flag);
  return index === -1 ? undefined : args[index + 1];
}
