import { type Command, Option } from "commander";
import { z } from "zod";
import type { HerdClient } from "../../client/herd-client.js";
import { defaultSynthFeedForward } from "../../models/default-synth-feed-forward.js";
import { SynthModelRequest } from "../../protocol/management.js";
import { formatBytes, formatCount } from "../../util/format.js";
import { FlagNumber, positiveInteger } from "../argument-parsers.js";
import { print } from "../print.js";
import { createProgressDisplay } from "../progress.js";

const fields = SynthModelRequest.shape;

/** The flags as commander gives them, defaults filled in. */
const SynthFlags = z.object({
  name: z.string(),
  layers: z.number(),
  embedding: z.number(),
  ff: z.number().optional(),
  heads: z.number(),
  kvHeads: z.number().optional(),
  type: fields.type,
  context: z.number(),
  ctx: z.number().optional(),
  vocab: fields.vocabulary.unwrap(),
  seed: FlagNumber,
  blockScale: FlagNumber.optional(),
});

/** `herd models synth`: a model with random weights, written by the node. */
export function addModelsSynthCommand(models: Command, client: () => HerdClient): void {
  models
    .command("synth")
    .description(
      "write a Llama-shaped model with random weights and a real tokenizer (for tests and benchmarks)",
    )
    .requiredOption("--name <name>", "model name")
    .option("--layers <n>", "transformer blocks", positiveInteger("layers"), 4)
    .option("--embedding <n>", "embedding size", positiveInteger("embedding"), 256)
    .option("--ff <n>", "feed-forward size", positiveInteger("ff"))
    .option("--heads <n>", "attention heads", positiveInteger("heads"), 4)
    .option("--kv-heads <n>", "key/value heads", positiveInteger("kv-heads"))
    .addOption(new Option("--type <type>", "weight type").choices(fields.type.options).default("f16"))
    .option(
      "--context <n>",
      "training context (llama.context_length): llama-server gives a slot at most this many tokens",
      positiveInteger("context"),
      2048,
    )
    // The option's first name, kept for scripts that use it.
    .addOption(new Option("--ctx <n>").argParser(positiveInteger("ctx")).hideHelp())
    .addOption(
      new Option(
        "--vocab <name>",
        "tokenizer, from llama.cpp's vocabularies (starcoder has fill-in-the-middle tokens)",
      )
        .choices(fields.vocabulary.unwrap().options)
        .default("llama-spm"),
    )
    .option("--seed <n>", "random seed", (value) => Number.parseInt(value, 10), 1)
    .option(
      "--block-scale <x>",
      "scale of what each block adds (below 1: shallower models of the same seed and width can draft for it)",
      Number.parseFloat,
    )
    .action(async (raw: unknown) => {
      const options = SynthFlags.parse(raw);
      const progress = createProgressDisplay(`synth ${options.name}`, "bytes");
      const profile = await client()
        .synthModel(
          {
            name: options.name,
            layers: options.layers,
            embedding: options.embedding,
            feedForward: options.ff ?? defaultSynthFeedForward(options.embedding),
            heads: options.heads,
            kvHeads: options.kvHeads ?? options.heads,
            type: options.type,
            contextLength: options.ctx ?? options.context,
            vocabulary: options.vocab,
            seed: options.seed,
            blockScale: options.blockScale,
          },
          (completed, total) => progress.update(completed, total),
        )
        .finally(() => progress.stop());
      print(
        `wrote ${profile.name}: ${formatCount(profile.parameterCount)} parameters, ${profile.fileType}, ${formatBytes(profile.sizeBytes)}`,
      );
    });
}
