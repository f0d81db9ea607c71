import type { Command } from "commander";
import type { HerdClient } from "../../client/herd-client.js";
import type { AliasStatus } from "../../protocol/aliases.js";
import { formatTable } from "../table.js";

/** `herd alias set|list|rm`: a model name that always answers, from the first entry that can. */
export function addAliasCommands(program: Command, client: () => HerdClient): void {
  const alias = program
    .command("alias")
    .description("names that stand for a chain of models: requests go to the first entry that is READY");

  alias
    .command("set <name> <entries...>")
    .description(
      "set an alias's chain: model names, or upstream:<name>/<model>; the first READY entry the request's policy allows serves",
    )
    .option("--keep-loaded", "keep the best entry that fits the cluster as it is now loaded")
    .action(async (name: string, entries: string[], options: { keepLoaded?: boolean }) => {
      const status = await client().setAlias(name, {
        chain: entries,
        keepLoaded: options.keepLoaded === true,
      });
      process.stdout.write(
        `${status.name} → ${status.chain.join(", ")}${status.keepLoaded ? " (kept loaded)" : ""}\n`,
      );
    });

  alias
    .command("list")
    .alias("ls")
    .description("every alias: its chain, the entry that serves now and why, its last switches")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }) => {
      const { aliases } = await client().aliases();
      if (options.json) {
        process.stdout.write(`${JSON.stringify(aliases, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${renderAliases(aliases)}\n`);
    });

  alias
    .command("rm <name>")
    .description("remove an alias (the models it names stay loaded)")
    .action(async (name: string) => {
      await client().removeAlias(name);
      process.stdout.write(`removed alias ${name}\n`);
    });
}

/** One row per alias, then each one's switches, newest last. */
export function renderAliases(aliases: AliasStatus[]): string {
  if (aliases.length === 0) return "no aliases (herd alias set <name> <model>...)";
  const table = formatTable(
    ["ALIAS", "CHAIN", "KEEP LOADED", "SERVING", "WHY"],
    aliases.map((alias) => [
      alias.name,
      alias.chain.join(" > "),
      alias.keepLoaded ? "yes" : "no",
      alias.serving ?? "-",
      alias.reason,
    ]),
  );
  const history = aliases.flatMap((alias) =>
    alias.switches.map(
      (entry) => `${entry.at}  ${alias.name}: ${entry.from ?? "-"} → ${entry.to ?? "-"}: ${entry.reason}`,
    ),
  );
  return history.length > 0 ? `${table}\n\n${history.join("\n")}` : table;
}
