import { InvalidArgumentError } from "commander";
import { z } from "zod";

/** A flag's value that must be a positive whole number (`name` is the flag, for the message). */
export function positiveInteger(name: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed <= 0)
      throw new InvalidArgumentError(`${name} must be a positive whole number`);
    return parsed;
  };
}

/** A whole number where 0 has a meaning of its own: `zero` says which (a limit's 0 is "unlimited"). */
export function wholeNumber(name: string, zero = "unlimited") {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 0)
      throw new InvalidArgumentError(`${name} must be a whole number (0: ${zero})`);
    return parsed;
  };
}

/**
 * A number as a flag's parser gave it. `Number.parseInt` can give NaN: it travels on, and the node
 * refuses it in its own words, as it did before the flags had a schema.
 */
export const FlagNumber = z.union([z.number(), z.nan()]);
