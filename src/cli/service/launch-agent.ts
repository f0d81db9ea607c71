import { join } from "node:path";
import type { ServiceDefinition } from "./service-definition.js";

/** The LaunchAgent's label, and its file's name in `~/Library/LaunchAgents/`. */
export const launchAgentLabel = "herd.node";

/**
 * A per-user LaunchAgent: started at login and after a reboot (`RunAtLoad`), started again when it
 * exits with a failure (`KeepAlive` unless the exit was clean, so `herd stop` stays stopped), output
 * in HERD_HOME/logs. launchd has no environment files: herd reads it itself (`--env-file`).
 */
export function launchAgentPlist(definition: ServiceDefinition): string {
  const [program, ...rest] = definition.command;
  const startIndex = rest.indexOf("start");
  const argumentsWithEnvFile = [
    program!,
    ...rest.slice(0, startIndex + 1),
    "--env-file",
    definition.environmentFile,
    ...rest.slice(startIndex + 1),
  ];
  const body = [
    key("Label"),
    string(launchAgentLabel),
    key("ProgramArguments"),
    "<array>",
    ...argumentsWithEnvFile.map((argument) => `  ${string(argument)}`),
    "</array>",
    key("WorkingDirectory"),
    string(definition.workingDirectory),
    key("EnvironmentVariables"),
    "<dict>",
    ...Object.entries(definition.environment).flatMap(([name, value]) => [
      `  ${key(name)}`,
      `  ${string(value)}`,
    ]),
    "</dict>",
    key("RunAtLoad"),
    "<true/>",
    key("KeepAlive"),
    "<dict>",
    `  ${key("SuccessfulExit")}`,
    "  <false/>",
    "</dict>",
    // At most one restart every 10 s, should it fail at once each time.
    key("ThrottleInterval"),
    "<integer>10</integer>",
    key("StandardOutPath"),
    string(join(definition.logDirectory, "service.out.log")),
    key("StandardErrorPath"),
    string(join(definition.logDirectory, "service.err.log")),
  ];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    "<dict>",
    ...body.map((line) => `  ${line}`),
    "</dict>",
    "</plist>",
    "",
  ].join("\n");
}

const key = (name: string) => `<key>${escapeXml(name)}</key>`;
const string = (value: string) => `<string>${escapeXml(value)}</string>`;

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
