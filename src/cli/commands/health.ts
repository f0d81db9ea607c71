import type { Command } from "commander";
import { z } from "zod";
import { type HerdClient, HerdUnreachableError } from "../../client/herd-client.js";
import { type HealthReport, healthExitCodes } from "../../protocol/health.js";

/** The status for an answer that is no verdict (a refused key): monitoring plugins call it unknown. */
const unknownExitCode = 3;

const HealthFlags = z.object({ json: z.boolean().optional() });

/** `herd health`: one verdict for monitoring and cron, with its exit status. */
export function addHealthCommand(program: Command, client: () => HerdClient): void {
  program
    .command("health")
    .description(
      "the cluster's health: one line per problem; exit 0 healthy, 1 degraded, 2 down (3: could not tell)",
    )
    .option("--json", "print JSON")
    .action(async (raw: unknown) => {
      const options = HealthFlags.parse(raw);
      const api = client();
      let report: HealthReport;
      try {
        report = await api.health();
      } catch (error) {
        if (!(error instanceof HerdUnreachableError)) {
          process.exitCode = unknownExitCode;
          process.stderr.write(`herd: ${(error as Error).message}\n`);
          return;
        }
        report = unreachable(api.baseUrl, error.message);
      }
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderHealth(report));
      process.exitCode = healthExitCodes[report.verdict];
    });
}

/** The verdict and its summary on the first line, then one line per finding. */
export function renderHealth(report: HealthReport): string {
  return [`${report.verdict}: ${report.summary}`, ...report.findings.map((finding) => finding.message)]
    .map((line) => `${line}\n`)
    .join("");
}

/** A node that does not answer is a cluster down, as far as whoever asks it can tell. */
function unreachable(url: string, message: string): HealthReport {
  return {
    verdict: "down",
    summary: message,
    findings: [],
    checkedAt: new Date().toISOString(),
    node: url,
  };
}
