import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, join } from "node:path";

/** The full path of `name` on PATH (or among `extraDirectories`), or undefined. */
export async function findExecutable(
  name: string,
  extraDirectories: string[] = [],
): Promise<string | undefined> {
  const directories = [...(process.env.PATH ?? "").split(delimiter), ...extraDirectories].filter(Boolean);
  const names = process.platform === "win32" ? [`${name}.exe`, `${name}.cmd`, name] : [name];
  for (const directory of directories) {
    for (const candidate of names) {
      const path = join(directory, candidate);
      try {
        await access(path, constants.X_OK);
        return path;
      } catch {
        // Not here; keep looking.
      }
    }
  }
  return undefined;
}
