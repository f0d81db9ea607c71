import type { Command } from "commander";
import { z } from "zod";
import { type HerdClient, HerdUnreachableError } from "../../client/herd-client.js";
import { HerdError } from "../../protocol/errors.js";
import type { StopReport } from "../../protocol/management.js";
import { print } from "../print.js";

/** How long `herd stop` waits for the node it talks to to stop answering. */
const stopTimeoutMs = 30_000;

const StopFlags = z.object({
  drain: z.boolean().optional(),
  node: z.string().optional(),
  all: z.boolean().optional(),
});

/** `herd stop [--drain] [--all]`: stop a node from another terminal, a machine at a time or all of them. */
export function addStopCommand(program: Command, client: () => HerdClient): void {
  program
    .command("stop")
    .description(
      "stop the node (and its engines) as Ctrl-C would; its instances come back when it starts again",
    )
    .option("--drain", "first move its instances to other nodes, each READY there before the old one drains")
    .option("--node <name>", "stop another node of the cluster instead (through this one)")
    .option("--all", "stop every node of the cluster")
    .action(async (raw: unknown) => {
      const options = StopFlags.parse(raw);
      const api = client();
      if (options.all && options.drain)
        throw new HerdError(
          "--all and --drain do not go together: with every node stopping there is nowhere to move to",
        );
      const view = await api.cluster();
      const self = view.nodes.find((node) => node.id === view.self)!;
      const others = options.all
        ? view.nodes
            .filter((node) => node.id !== view.self && node.state === "alive")
            .map((node) => node.name)
        : [];
      for (const name of others) print(describe(await api.stopNode({ node: name }), false));
      const target = options.node ?? self.name;
      const report = await api.stopNode({ node: options.node, drain: options.drain });
      if (target !== self.name) return print(describe(report, false));
      await waitUntilGone(api);
      print(describe(report, true));
    });
}

function describe(report: StopReport, done: boolean): string {
  const moves = report.moved.map((move) => `moved ${move.from} to ${move.to} on ${move.head}\n`).join("");
  return `${moves}${done ? "stopped" : "stopping"} ${report.node}`;
}

/** Resolves once the node no longer answers (it exits within seconds of answering the stop). */
async function waitUntilGone(api: HerdClient): Promise<void> {
  const deadline = Date.now() + stopTimeoutMs;
  while (Date.now() < deadline) {
    try {
      await api.node();
    } catch (error) {
      if (error instanceof HerdUnreachableError) return;
      throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new HerdError(
    `the node at ${api.baseUrl} still answers ${stopTimeoutMs / 1000} s after agreeing to stop`,
  );
}
