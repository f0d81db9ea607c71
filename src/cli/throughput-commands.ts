import { type Command, Option } from "commander";
import { z } from "zod";
import { runBenchSuite, suiteMarkdown } from "../client/bench-suite.js";
import type { HerdClient } from "../client/herd-client.js";
import type { UpstreamListing } from "../protocol/management.js";
import { ModelRoute, Upstream } from "../protocol/upstream.js";
import { FlagNumber } from "./argument-parsers.js";
import { print } from "./print.js";
import { formatTable } from "./table.js";

const routes = ModelRoute.options;
const upstreamKinds = Upstream.shape.kind.unwrap().options;

const DrainFlags = z.object({ wait: z.boolean() });
const AddUpstreamFlags = z.object({
  models: z.string(),
  keyEnv: z.string().optional(),
  kind: z.enum(upstreamKinds),
  route: ModelRoute.optional(),
});
const JsonFlag = z.object({ json: z.boolean().optional() });
const BenchFlags = z.object({
  streams: z.array(FlagNumber),
  promptWords: z.array(FlagNumber),
  generate: z.array(FlagNumber),
  rounds: FlagNumber,
  out: z.union([z.string(), z.literal(false)]),
});

/** `herd drain`, `herd upstream ...` and `herd route`: where requests go. */
export function addThroughputCommands(program: Command, client: () => HerdClient): void {
  addBenchCommand(program, client);

  program
    .command("drain <target>")
    .description(
      "stop sending new requests to a node's instances (or one instance, or a model's), wait for those in flight, then unload them",
    )
    .option("--no-wait", "return once no new requests go there; the unload follows when they are done")
    .action(async (target: string, raw: unknown) => {
      const options = DrainFlags.parse(raw);
      const api = client();
      const view = await api.cluster();
      const isNode = view.nodes.some((node) => node.name === target || node.id === target);
      const result = isNode
        ? await api.drainNode(target, { wait: options.wait })
        : await api.drainInstance(target, { wait: options.wait });
      const verb = result.drained ? "drained and unloaded" : "draining";
      print(result.draining.map((id) => `${verb} ${id}`).join("\n"));
    });

  const upstream = program
    .command("upstream")
    .description("external services (another herd, vLLM, a cloud API) that may serve some models");

  upstream
    // The URL is an argument: `--url` is every command's option for the node to talk to.
    .command("add <name> <url>")
    .description(
      "register an OpenAI- or Anthropic-compatible service at its base URL, e.g. https://api.openai.com/v1 (replaces one of the same name)",
    )
    .requiredOption("--models <list>", "the models it serves, comma-separated; 'name=its-name' to rename")
    .option("--key-env <variable>", "the environment variable that holds its API key on every node")
    .addOption(new Option("--kind <kind>", "its API").choices(upstreamKinds).default("openai"))
    .addOption(new Option("--route <route>", "set this route for its models").choices(routes))
    .action(async (name: string, url: string, raw: unknown) => {
      const options = AddUpstreamFlags.parse(raw);
      const listing = await client().addUpstream({
        name,
        url,
        keyEnv: options.keyEnv,
        kind: options.kind,
        route: options.route,
        models: options.models.split(",").map((entry) => {
          const [local, remote] = entry.split("=");
          return { name: local!.trim(), upstreamName: (remote ?? local!).trim() };
        }),
      });
      print(renderUpstreams(listing));
    });

  upstream
    .command("list")
    .alias("ls")
    .description("list the upstreams and the models' routes")
    .option("--json", "print JSON")
    .action(async (raw: unknown) => {
      const listing = await client().upstreams();
      print(JsonFlag.parse(raw).json ? JSON.stringify(listing, null, 2) : renderUpstreams(listing));
    });

  upstream
    .command("rm <name>")
    .description("remove an upstream")
    .action(async (name: string) => {
      await client().removeUpstream(name);
      print(`removed ${name}`);
    });

  program
    .command("route <model> <route>")
    .description(
      "where a model's requests may go: local-only, local-then-upstream (overflow when every instance is full or down), upstream, or default",
    )
    .action(async (model: string, route: string) => {
      const parsed = ModelRoute.safeParse(route);
      if (route !== "default" && !parsed.success) {
        throw new Error(`route must be one of ${routes.join(", ")} or default, got '${route}'`);
      }
      const listing = await client().setRoute(model, parsed.success ? parsed.data : null);
      print(renderUpstreams(listing));
    });
}

function addBenchCommand(program: Command, client: () => HerdClient): void {
  const list = (value: string) => value.split(",").map((entry) => Number.parseInt(entry, 10));
  program
    .command("bench <model>")
    .description(
      "measure a loaded model through this node: TTFT and decode tokens/s by prompt size and length, and by concurrent streams",
    )
    .option("--streams <list>", "concurrent streams", list, [1, 2, 4, 8, 16])
    .option("--prompt-words <list>", "prompt sizes in words", list, [16, 256, 1024])
    .option("--generate <list>", "generation lengths in tokens", list, [32, 128])
    .option(
      "--rounds <n>",
      "rounds per measurement (the median is shown)",
      (value) => Number.parseInt(value, 10),
      3,
    )
    .option("--out <dir>", "also write <model>-<time>.json and .md here", "bench-results")
    .option("--no-out", "write no files")
    .action(async (model: string, raw: unknown) => {
      const options = BenchFlags.parse(raw);
      const result = await runBenchSuite(client(), {
        model,
        streams: options.streams,
        promptWords: options.promptWords,
        generate: options.generate,
        rounds: options.rounds,
        onProgress: (line) => process.stderr.write(`${line}\n`),
      });
      const markdown = suiteMarkdown(result);
      print(markdown);
      if (options.out) {
        const { mkdir, writeFile } = await import("node:fs/promises");
        const stem = `${options.out}/${model}-${new Date().toISOString().replace(/[:.]/g, "-")}`;
        await mkdir(options.out, { recursive: true });
        await writeFile(`${stem}.json`, `${JSON.stringify(result, null, 2)}\n`);
        await writeFile(`${stem}.md`, `${markdown}\n`);
        process.stderr.write(`wrote ${stem}.json and .md\n`);
      }
    });
}

function renderUpstreams(listing: UpstreamListing): string {
  const table = formatTable(
    ["UPSTREAM", "KIND", "URL", "KEY", "MODELS"],
    listing.upstreams.map((upstream) => [
      upstream.name,
      upstream.kind,
      upstream.url,
      upstream.keyEnv ? `$${upstream.keyEnv}${upstream.keyPresent ? "" : " (not set here)"}` : "-",
      upstream.models
        .map((model) =>
          model.name === model.upstreamName ? model.name : `${model.name}=${model.upstreamName}`,
        )
        .join(","),
    ]),
  );
  const models = new Set([
    ...listing.upstreams.flatMap((upstream) => upstream.models.map((model) => model.name)),
    ...Object.keys(listing.routes),
  ]);
  const routeTable = formatTable(
    ["MODEL", "ROUTE"],
    [...models].sort().map((model) => [model, listing.routes[model] ?? "local-then-upstream (default)"]),
  );
  return `${table}\n\n${routeTable}`;
}
