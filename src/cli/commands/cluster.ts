import type { Command } from "commander";
import { z } from "zod";
import type { HerdClient } from "../../client/herd-client.js";
import { FlagNumber } from "../argument-parsers.js";
import { print } from "../print.js";
import { renderNodes, renderStatus } from "../render-cluster.js";
import { renderLogLine } from "../render-log-line.js";

/** How often `herd status --watch` redraws: the view's figures (memory, last seen) move without events. */
const watchIntervalMs = 1000;

const StatusFlags = z.object({
  watch: z.boolean().optional(),
  json: z.boolean().optional(),
  paths: z.boolean().optional(),
});
const JsonFlag = z.object({ json: z.boolean().optional() });
const LogsFlags = z.object({
  node: z.string().optional(),
  lines: FlagNumber,
  follow: z.boolean().optional(),
  json: z.boolean().optional(),
});

/** `herd status|nodes|join-token|logs`: the cluster's nodes and what they say. */
export function addClusterCommands(program: Command, client: () => HerdClient): void {
  program
    .command("status")
    .description("the cluster: nodes, roles, memory, devices, links and health")
    .option("--watch", "refresh every second until Ctrl-C")
    .option("--paths", "every path between each pair of nodes, not only the best")
    .option("--json", "print JSON")
    .action(async (raw: unknown) => {
      const options = StatusFlags.parse(raw);
      const api = client();
      for (;;) {
        const view = await api.cluster();
        if (options.json) print(JSON.stringify(view, null, 2));
        else if (options.watch) process.stdout.write(`\x1b[2J\x1b[H${renderStatus(view, options.paths)}\n`);
        else print(renderStatus(view, options.paths));
        if (!options.watch) return;
        await new Promise((resolve) => setTimeout(resolve, watchIntervalMs));
      }
    });

  program
    .command("nodes")
    .description("list the cluster's nodes")
    .option("--json", "print JSON")
    .action(async (raw: unknown) => {
      const view = await client().cluster();
      print(JsonFlag.parse(raw).json ? JSON.stringify(view.nodes, null, 2) : renderNodes(view));
    });

  program
    .command("join-token")
    .description("print the token another machine needs to join: herd start --join <token> (it is a secret)")
    .action(async () => {
      print(await client().joinToken());
    });

  program
    .command("logs")
    .description("a node's log: this node's, or another's with --node (read through this node)")
    .option("--node <name>", "the node whose log to show (name or id)")
    .option(
      "-n, --lines <n>",
      "how many of the last lines to show",
      (value) => Number.parseInt(value, 10),
      100,
    )
    .option("-f, --follow", "keep showing new lines until Ctrl-C")
    .option("--json", "print the JSON lines as written")
    .action(async (raw: unknown) => {
      const options = LogsFlags.parse(raw);
      const stop = new AbortController();
      process.once("SIGINT", () => stop.abort());
      const lines = await client().logs(
        { node: options.node, lines: options.lines, follow: options.follow },
        stop.signal,
      );
      for await (const line of lines) print(options.json ? line : renderLogLine(line));
    });
}
