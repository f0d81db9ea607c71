import type { Command } from "commander";
import { z } from "zod";
import type { HerdClient } from "../../client/herd-client.js";
import type { VerifyReport } from "../../protocol/management.js";
import { formatBytes } from "../../util/format.js";
import { createProgressDisplay } from "../progress.js";
import { formatTable } from "../table.js";

const VerifyFlags = z.object({ allNodes: z.boolean().optional(), json: z.boolean().optional() });

/** `herd models verify [NAME...] [--all-nodes]`: stored files against their recorded sha256. */
export function addModelsVerifyCommand(models: Command, client: () => HerdClient): void {
  models
    .command("verify [names...]")
    .description(
      "hash stored models again and compare with the sha256 recorded when they were pulled or imported; exit 1 if one is corrupt",
    )
    .option("--all-nodes", "verify the models of every node of the cluster")
    .option("--json", "print JSON")
    .action(async (names: string[], raw: unknown) => {
      const options = VerifyFlags.parse(raw);
      const api = client();
      const view = await api.cluster();
      const nodes = options.allNodes
        ? view.nodes.filter((node) => node.state !== "gone").map((node) => node.name)
        : [view.nodes.find((node) => node.id === view.self)?.name ?? "self"];
      const reports: VerifyReport[] = [];
      for (const node of nodes) {
        const progress = createProgressDisplay(`verify ${node}`, "bytes");
        const request = {
          models: names.length > 0 ? names : undefined,
          node: options.allNodes ? node : undefined,
        };
        reports.push(
          await api
            .verifyModels(request, (completed, total) => progress.update(completed, total))
            .finally(() => progress.stop()),
        );
      }
      const rows = reports.flatMap((report) =>
        report.results.map((result) => ({ node: report.node, ...result })),
      );
      if (options.json) process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
      else if (rows.length === 0) process.stdout.write("no models to verify\n");
      else
        process.stdout.write(
          `${formatTable(
            ["NODE", "MODEL", "RESULT", "SIZE", "TIME", "PROBLEM"],
            rows.map((row) => [
              row.node,
              row.model,
              row.state,
              formatBytes(row.bytes),
              `${row.seconds.toFixed(1)}s`,
              row.problem ?? "",
            ]),
          )}\n`,
        );
      if (rows.some((row) => row.state === "corrupt")) process.exitCode = 1;
    });
}
