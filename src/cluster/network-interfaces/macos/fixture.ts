import { readFileSync } from "node:fs";

/** A file of `fixtures/` (see its README for where each came from). */
export function readFixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
}
