import type { Command } from "commander";
import { z } from "zod";
import type { HerdClient } from "../../client/herd-client.js";
import { formatBytes, formatCount } from "../../util/format.js";
import { print } from "../print.js";
import { createProgressDisplay } from "../progress.js";
import { formatTable } from "../table.js";
import { addModelsSynthCommand } from "./models-synth.js";
import { addModelsVerifyCommand } from "./models-verify.js";
import { loadRequest, PlacementFlags, withPlacementOptions } from "./placement-options.js";

const JsonFlag = z.object({ json: z.boolean().optional() });
const ImportFlags = z.object({ name: z.string().optional(), copy: z.boolean().optional() });
const RemoveFlags = z.object({ force: z.boolean().optional() });
const PullFlags = z.object({ name: z.string().optional(), offline: z.boolean().optional() });

/** `herd models import|list|rm|synth|fit|verify` and `herd pull`: the models in the nodes' stores. */
export function addModelCommands(program: Command, client: () => HerdClient): void {
  const models = program.command("models").description("the models on the node");

  models
    .command("import <path>")
    .description("register a GGUF file (linked, not copied, where the filesystem allows)")
    .option("--name <name>", "the name clients will use (default: from the file name)")
    .option("--copy", "copy the file into herd's store")
    .action(async (path: string, raw: unknown) => {
      const options = ImportFlags.parse(raw);
      const { resolve } = await import("node:path");
      const profile = await client().importModel({
        path: resolve(path),
        name: options.name,
        copy: options.copy,
      });
      print(
        `imported ${profile.name}: ${profile.architecture}, ${formatCount(profile.parameterCount)} parameters, ${profile.fileType}, ${formatBytes(profile.sizeBytes)}, ${profile.layerCount} layers (${profile.storage})`,
      );
    });

  models
    .command("list")
    .alias("ls")
    .description("list the models")
    .option("--json", "print JSON")
    .action(async (raw: unknown) => {
      const list = await client().models();
      if (JsonFlag.parse(raw).json) return print(JSON.stringify(list, null, 2));
      print(
        formatTable(
          ["NAME", "ARCH", "QUANT", "PARAMS", "SIZE", "LAYERS", "SHA256", "FILE", "INSTANCES"],
          list.map((model) => [
            model.name,
            model.architecture,
            model.fileType,
            formatCount(model.parameterCount),
            formatBytes(model.sizeBytes),
            String(model.layerCount),
            model.verification?.state ?? (model.files ? "recorded" : "-"),
            `${model.file}${(model.files?.length ?? 1) > 1 ? ` (+${model.files!.length - 1} parts)` : ""}`,
            model.instances.join(",") || "-",
          ]),
        ),
      );
    });

  models
    .command("rm <name>")
    .description("remove a model (refused while an instance uses it, unless --force)")
    .option("--force", "unload its instances first")
    .action(async (name: string, raw: unknown) => {
      await client().removeModel(name, RemoveFlags.parse(raw));
      print(`removed ${name}`);
    });

  addModelsSynthCommand(models, client);

  program
    .command("pull <ref>")
    .description(
      "download a model from Hugging Face (owner/repo, owner/repo:Q4_K_M or owner/repo/FILE.gguf), resuming and verified",
    )
    .option("--name <name>", "the name clients will use (default: from the repository and quantization)")
    .option("--offline", "do not use the network: succeed only if the model was pulled before")
    .action(async (ref: string, raw: unknown) => {
      const options = PullFlags.parse(raw);
      // The bar appears once the size is known, so an error while resolving prints alone.
      let progress: ReturnType<typeof createProgressDisplay> | undefined;
      const profile = await client()
        .pullModel({ ref, name: options.name, offline: options.offline }, (update) => {
          if (update.total === 0) return;
          progress ??= createProgressDisplay(`pull ${ref}`, "bytes");
          progress.update(update.completed, update.total, update.bytesPerSecond);
        })
        .finally(() => progress?.stop());
      const files = profile.files?.length ?? 1;
      print(
        `pulled ${profile.name}: ${profile.architecture}, ${formatCount(profile.parameterCount)} parameters, ${profile.fileType}, ${formatBytes(profile.sizeBytes)}${files > 1 ? ` in ${files} files` : ""}, sha256 verified`,
      );
    });

  addModelsFitCommand(models, client);
  addModelsVerifyCommand(models, client);
}

/** `herd models fit [MODEL]`: which models fit the cluster now, best first. */
function addModelsFitCommand(models: Command, client: () => HerdClient): void {
  withPlacementOptions(
    models
      .command("fit [model]")
      .description(
        "which models fit the cluster now (all local ones, one, or each quantization of a hub repository), best first",
      ),
  )
    .option("--json", "print JSON")
    .action(async (model: string | undefined, raw: unknown) => {
      const { model: _, ...request } = loadRequest(model ?? "", PlacementFlags.parse(raw));
      const report = await client().fitModels({ ...request, model });
      if (JsonFlag.parse(raw).json) return print(JSON.stringify(report, null, 2));
      if (report.candidates.length === 0) return print("no models (import or pull one first)");
      print(
        formatTable(
          ["MODEL", "QUANT", "SIZE", "FITS", "NODES", "HEAD", "SPLIT", "TOKENS/S", "NOTE"],
          report.candidates.map((candidate) => [
            candidate.ref ?? candidate.name,
            candidate.quantization,
            formatBytes(candidate.sizeBytes),
            candidate.fits ? "yes" : "no",
            candidate.fits ? `${candidate.nodeCount} (${candidate.nodes.join(",")})` : "-",
            candidate.head ?? "-",
            candidate.splitMode ?? "-",
            candidate.predictedDecodeTokensPerSecond?.toFixed(1) ?? "-",
            candidate.fits
              ? candidate.origin === "hub"
                ? `herd pull ${candidate.ref}`
                : "local"
              : candidate.reason,
          ]),
        ),
      );
    });
}
