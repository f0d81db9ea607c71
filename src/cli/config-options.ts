import { type Command, Option } from "commander";
import type { ConfigOverrides } from "../config.js";
import { type FlagSettingName, nodeSettings, type SettingFlag } from "../node-settings.js";
import { Backend } from "../protocol/engine.js";
import { positiveInteger, wholeNumber } from "./argument-parsers.js";

/** The settings with a `herd start` flag, in the order of the help. */
export const flagSettingNames = (Object.keys(nodeSettings) as FlagSettingName[]).filter(
  (name) => nodeSettings[name].flag !== undefined,
);

/** The commander option of one setting's flag, built from its entry in `nodeSettings`. */
export function settingOption(name: FlagSettingName): Option {
  const flag: SettingFlag = nodeSettings[name].flag;
  const option = new Option(flag.spec, flag.description);
  if (flag.value === "integer") option.argParser(positiveInteger(option.name()));
  if (flag.value === "off-or-integer") option.argParser(wholeNumber(option.name(), "off"));
  if (flag.default !== undefined) option.default(flag.default);
  if (name === "backend") option.choices(["auto", ...Backend.options]);
  return option;
}

/** Adds the flags of these settings to a command. */
export function addSettingOptions(command: Command, names: readonly FlagSettingName[]): Command {
  for (const name of names) command.addOption(settingOption(name));
  return command;
}

/**
 * The settings a command's flags give: only flags given on the command line, so that a variable
 * (`HERD_PORT`, `HERD_WARMUP=off`) wins over a flag's default, as the help says. Commander has
 * checked each value (choices, numbers), and `loadConfig` parses them with the settings' schema.
 */
export function toConfigOverrides(
  command: Command,
  names: readonly FlagSettingName[] = flagSettingNames,
): ConfigOverrides {
  const options = command.opts();
  const overrides: Record<string, unknown> = {};
  for (const name of names) {
    const key = settingOption(name).attributeName();
    if (command.getOptionValueSource(key) === "default") continue;
    const value = options[key];
    overrides[name] =
      nodeSettings[name].flag.value === "list" && typeof value === "string" ? value.split(",") : value;
  }
  return overrides as ConfigOverrides;
}
