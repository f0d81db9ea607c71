/** Writes a line (or several) of a command's answer to stdout. */
export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}
