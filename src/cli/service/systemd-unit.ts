import type { ServiceDefinition } from "./service-definition.js";

/** `herd.service`: a system unit when installed as root, a `--user` unit otherwise. */
export function systemdUnit(definition: ServiceDefinition, scope: "system" | "user"): string {
  const lines = [
    "[Unit]",
    "Description=herd node: this machine's part of the herd LLM cluster",
    // Other machines are reached at start (peers, the join token's addresses): wait for the network.
    "After=network-online.target",
    ...(scope === "system" ? ["Wants=network-online.target"] : []),
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${definition.command.map((word) => quoteWord(word, "command")).join(" ")}`,
    `WorkingDirectory=${escapeSpecifiers(definition.workingDirectory)}`,
    ...Object.entries(definition.environment).map(
      ([name, value]) => `Environment=${quoteWord(`${name}=${value}`, "assignment")}`,
    ),
    // Secrets come from this file (the leading '-': a missing file is no error).
    `EnvironmentFile=-${escapeSpecifiers(definition.environmentFile)}`,
    "Restart=on-failure",
    "RestartSec=2",
    // herd stops its engines itself on SIGTERM: signal it alone, and the rest only if it has not done so in time.
    "KillMode=mixed",
    "TimeoutStopSec=30",
    "",
    "[Install]",
    `WantedBy=${scope === "system" ? "multi-user.target" : "default.target"}`,
    "",
  ];
  return lines.join("\n");
}

/**
 * One word of a unit file's command line or `Environment=` assignment: quoted when it must be, with
 * specifiers kept literal, and on a command line `$` too (systemd expands variables there alone).
 */
export function quoteWord(word: string, place: "command" | "assignment"): string {
  const specifiersKept = escapeSpecifiers(word);
  const escaped = place === "command" ? specifiersKept.replace(/\$/g, "$$$$") : specifiersKept;
  if (escaped !== "" && /^[^\s"'\\;]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/[\\"]/g, "\\$&")}"`;
}

/** systemd expands `%x` specifiers everywhere: a literal `%` is written `%%`. */
function escapeSpecifiers(text: string): string {
  return text.replace(/%/g, "%%");
}

/** Splits an `ExecStart=` value back into words, as systemd does (for tests and `herd service status`). */
export function parseExecStart(line: string): string[] {
  const words: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const match of line.matchAll(pattern)) {
    const word = match[1] !== undefined ? match[1].replace(/\\(.)/g, "$1") : match[2]!;
    words.push(word.replace(/\$\$/g, "$").replace(/%%/g, "%"));
  }
  return words;
}
